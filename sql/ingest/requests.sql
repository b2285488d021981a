-- requests
-- grain:    one row per accepted request
-- inputs:   staged, duplicates, model_categories
-- params:   (none)
-- contract: requests@1 (arrival_us is epoch microseconds, UTC). A view over ingest's
--           artefacts, so that the accepted rows are never copied a second time.
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
