-- latency
-- grain:    one row per (model_key, metric) with values: metric 'ttft_ms' or 'e2e_ms'
-- inputs:   char_requests
-- params:   (none)
-- Latency percentiles over successful requests that report the metric.
with long_form as (
    select model_key, 'ttft_ms' as metric, ttft_ms as value
    from char_requests where is_success and ttft_ms is not null
    union all
    select model_key, 'e2e_ms' as metric, e2e_ms as value
    from char_requests where is_success and e2e_ms is not null
)

select
    model_key,
    metric,
    count(*) as n,
    quantile_cont(value, [0.5, 0.9, 0.99]) as quantiles
from long_form
group by model_key, metric
order by model_key, metric
