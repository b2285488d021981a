-- modality_mix
-- grain:    one row per (category, model, period_index)
-- inputs:   parts_modality_mix
-- params:   (none)
-- contract: servechar.summaries/2 modality_mix: counts and DECIMAL(38, 0) sums added, sorted
--           by key.
select
    category,
    model,
    period_index,
    sum(n)::bigint as n,
    sum(input_tokens_sum)::decimal(38, 0) as input_tokens_sum,
    sum(text_tokens_sum)::decimal(38, 0) as text_tokens_sum,
    sum(image_requests)::bigint as image_requests,
    sum(audio_requests)::bigint as audio_requests,
    sum(video_requests)::bigint as video_requests,
    sum(image_items)::decimal(38, 0) as image_items,
    sum(audio_items)::decimal(38, 0) as audio_items,
    sum(video_items)::decimal(38, 0) as video_items,
    sum(image_tokens_sum)::decimal(38, 0) as image_tokens_sum,
    sum(audio_tokens_sum)::decimal(38, 0) as audio_tokens_sum,
    sum(video_tokens_sum)::decimal(38, 0) as video_tokens_sum
from parts_modality_mix
group by category, model, period_index
order by category, model, period_index
