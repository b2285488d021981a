-- model_summary
-- grain:    one row per model_key
-- inputs:   char_requests
-- params:   (none)
-- Percentiles of the whole model need the requests (not the per-client ones), hence a scan.
-- Kept apart from client_summary and category_summary: one query with grouping sets holds the
-- percentile state of every level at once and fails under tight --memory-limit.
select
    model_key,
    count(*) as n_requests,
    count(*) filter (where is_success) as n_success,
    min(offset_us) as first_offset_us,
    max(offset_us) as last_offset_us,
    coalesce(sum(input_tokens::hugeint) filter (where is_success), 0) as input_tokens_sum,
    coalesce(sum(output_tokens::hugeint) filter (where is_success), 0) as output_tokens_sum,
    quantile_cont(input_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as input_quantiles,
    quantile_cont(output_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as output_quantiles
from char_requests
group by model_key
order by model_key
