-- value_counts
-- grain:    one row per (category, model, client_id, field, value) over the part's successful
--           requests
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/2 value_counts. Exact value -> count tables, so that every
--           percentile of reasoning, latency and multimodal that characterize reports
--           (fitting.quantiles reproduces DuckDB's quantile_cont on them) and every integer
--           sum merges exactly (input and output tokens: topic token_counts). Fields (NULL or
--           inapplicable values are left out, as the percentiles ignore them):
--           reason_tokens, reason_ratio (reason_tokens /
--           output_tokens, output_tokens > 0), ttft_ms, e2e_ms, <m>_count (requests with
--           <m>_count > 0) and <m>_tokens_per_item (<m>_tokens / <m>_count) for m in image,
--           audio, video. Values are DOUBLE (token counts below 2^53 are exact).
with fields as (
    select
        category,
        model,
        client_id,
        reason_tokens::double as reason_tokens,
        case when output_tokens > 0 then reason_tokens / output_tokens end as reason_ratio,
        ttft_ms::double as ttft_ms,
        e2e_ms::double as e2e_ms,
        case when image_count > 0 then image_count::double end as image_count,
        case when audio_count > 0 then audio_count::double end as audio_count,
        case when video_count > 0 then video_count::double end as video_count,
        case when image_count > 0 then image_tokens / image_count end as image_tokens_per_item,
        case when audio_count > 0 then audio_tokens / audio_count end as audio_tokens_per_item,
        case when video_count > 0 then video_tokens / video_count end as video_tokens_per_item
    from part_requests
    where
        is_success
        -- only requests with a value to count (most logs have none of these fields)
        and (
            reason_tokens is not null or ttft_ms is not null or e2e_ms is not null
            or image_count > 0 or audio_count > 0 or video_count > 0
        )
),

-- one scan; UNPIVOT leaves the NULL values out
long_form as (
    unpivot fields
    on
        reason_tokens, reason_ratio, ttft_ms, e2e_ms,
        image_count, audio_count, video_count,
        image_tokens_per_item, audio_tokens_per_item, video_tokens_per_item
    into name field value value
)

select category, model, client_id, field, value, count(*) as n
from long_form
group by category, model, client_id, field, value
order by category, model, client_id, field, value
