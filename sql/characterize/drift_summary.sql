-- drift_summary
-- grain:    one row per (model_key, period_index) with successful requests
-- inputs:   char_requests
-- params:   period_us
-- Per period (a dataset window, or a day) of `period_us` from the origin: the count, exact
-- token sums (means without float-order effects) and percentiles of each length field.
select
    model_key,
    offset_us // $period_us as period_index,
    count(*) as n,
    sum(input_tokens::hugeint) as input_tokens_sum,
    sum(output_tokens::hugeint) as output_tokens_sum,
    quantile_cont(input_tokens, [0.5, 0.9, 0.99]) as input_quantiles,
    quantile_cont(output_tokens, [0.5, 0.9, 0.99]) as output_quantiles
from char_requests
where is_success
group by model_key, period_index
order by model_key, period_index
