-- multimodal
-- grain:    one row per model_key (period_index NULL: the whole log) and per (model_key,
--           period_index) of `period_us`, over successful requests
-- inputs:   char_requests
-- params:   period_us
-- Modality mix: requests carrying each modality, its items and tokens (exact sums), and the
-- text tokens, for the share of input tokens that each modality takes.
select
    model_key,
    offset_us // $period_us as period_index,
    count(*) as n,
    sum(input_tokens::hugeint) as input_tokens_sum,
    sum(coalesce(text_tokens, 0)::hugeint) as text_tokens_sum,
    count(*) filter (where image_count > 0) as image_requests,
    count(*) filter (where audio_count > 0) as audio_requests,
    count(*) filter (where video_count > 0) as video_requests,
    sum(coalesce(image_count, 0)::hugeint) as image_items,
    sum(coalesce(audio_count, 0)::hugeint) as audio_items,
    sum(coalesce(video_count, 0)::hugeint) as video_items,
    sum(coalesce(image_tokens, 0)::hugeint) as image_tokens_sum,
    sum(coalesce(audio_tokens, 0)::hugeint) as audio_tokens_sum,
    sum(coalesce(video_tokens, 0)::hugeint) as video_tokens_sum,
    quantile_cont(image_count, [0.5, 0.9, 0.99]) filter (where image_count > 0) as image_item_q,
    quantile_cont(audio_count, [0.5, 0.9, 0.99]) filter (where audio_count > 0) as audio_item_q,
    quantile_cont(video_count, [0.5, 0.9, 0.99]) filter (where video_count > 0) as video_item_q,
    quantile_cont(image_tokens / image_count, [0.5, 0.9, 0.99])
        filter (where image_count > 0) as image_per_item_q,
    quantile_cont(audio_tokens / audio_count, [0.5, 0.9, 0.99])
        filter (where audio_count > 0) as audio_per_item_q,
    quantile_cont(video_tokens / video_count, [0.5, 0.9, 0.99])
        filter (where video_count > 0) as video_per_item_q
from char_requests
where is_success
group by grouping sets ((model_key), (model_key, period_index))
order by model_key, period_index nulls first
