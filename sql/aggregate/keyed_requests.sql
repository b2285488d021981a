-- keyed_requests
-- grain:    one row per accepted request, keyed by client_key, timed from the origin
-- inputs:   requests, clients
-- params:   origin_us
with final as (
    select
        c.client_key,
        c.category,
        r.arrival_us - $origin_us as offset_us,
        r.is_success,
        r.input_tokens,
        r.output_tokens,
        r.reason_tokens,
        r.text_tokens,
        r.image_count,
        r.audio_count,
        r.video_count,
        r.image_tokens,
        r.audio_tokens,
        r.video_tokens,
        r.image_item_tokens,
        r.audio_item_tokens,
        r.video_item_tokens
    from requests as r
    inner join clients as c
        on r.category = c.category and r.model = c.model and r.client_id = c.client_id
)

select * from final
