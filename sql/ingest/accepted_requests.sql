-- accepted_requests
-- grain:    one row per accepted request (in no particular order)
-- inputs:   staged, duplicates, model_categories
-- params:   (none)
-- contract: the rows and columns of the request table (requests@2, docs/requests.md):
--           rows that passed every check, duplicates removed, the category resolved.
--           arrival_us is epoch microseconds, UTC.
with accepted as (
    select s.*
    from staged as s
    anti join duplicates as d on s.file_index = d.file_index and s.source_row = d.source_row
    where s.reject_reason is null
),

final as (
    select
        a.arrival_us,
        c.category,
        a.model,
        a.client_id,
        a.request_id,
        a.session_id,
        a.hash_ids,
        a.input_tokens,
        a.output_tokens,
        a.reason_tokens,
        a.text_tokens,
        a.image_count,
        a.image_tokens,
        a.image_item_tokens,
        a.audio_count,
        a.audio_tokens,
        a.audio_item_tokens,
        a.video_count,
        a.video_tokens,
        a.video_item_tokens,
        a.status,
        a.status is null or a.status between 200 and 299 as is_success,
        a.ttft_ms,
        a.e2e_ms,
        a.file_index,
        a.source_row
    from accepted as a
    inner join model_categories as c
        on a.model = c.model and a.category_text is not distinct from c.category_text
)

select * from final
