-- modality_mix
-- grain:    one row per (category, model, period_index) with successful requests in the part
-- inputs:   part_requests
-- params:   origin_us, dataset_window_us
-- contract: servechar.summaries/2 modality_mix. period_index = (arrival_us - origin_us) //
--           dataset_window_us (anchored at the run's origin). Integer counts and exact
--           DECIMAL(38, 0) sums (Parquet has no HUGEINT) of input, text and per-modality items
--           and tokens: the modality mix per dataset window, and of the whole log as the sum
--           over windows.
select
    category,
    model,
    (arrival_us - $origin_us) // $dataset_window_us as period_index,
    count(*) as n,
    sum(input_tokens::decimal(38, 0)) as input_tokens_sum,
    sum(coalesce(text_tokens, 0)::decimal(38, 0)) as text_tokens_sum,
    count(*) filter (where image_count > 0) as image_requests,
    count(*) filter (where audio_count > 0) as audio_requests,
    count(*) filter (where video_count > 0) as video_requests,
    sum(coalesce(image_count, 0)::decimal(38, 0)) as image_items,
    sum(coalesce(audio_count, 0)::decimal(38, 0)) as audio_items,
    sum(coalesce(video_count, 0)::decimal(38, 0)) as video_items,
    sum(coalesce(image_tokens, 0)::decimal(38, 0)) as image_tokens_sum,
    sum(coalesce(audio_tokens, 0)::decimal(38, 0)) as audio_tokens_sum,
    sum(coalesce(video_tokens, 0)::decimal(38, 0)) as video_tokens_sum
from part_requests
where is_success
group by category, model, period_index
order by category, model, period_index
