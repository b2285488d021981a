-- keyed_requests
-- grain:    one row per accepted request, keyed by client_key and model_key, timed from the origin
-- inputs:   requests, clients
-- params:   origin_us
-- A view for the characterize stage: every column a statistic needs, nothing copied.
with final as (
    select
        c.model_key,
        c.client_key,
        r.arrival_us - $origin_us as offset_us,
        r.is_success,
        r.status,
        r.input_tokens,
        r.output_tokens,
        r.reason_tokens,
        r.image_count,
        r.audio_count,
        r.video_count,
        r.image_tokens,
        r.audio_tokens,
        r.video_tokens,
        r.text_tokens,
        r.ttft_ms,
        r.e2e_ms,
        r.session_id
    from requests as r
    inner join clients as c
        on r.category = c.category and r.model = c.model and r.client_id = c.client_id
)

select * from final
