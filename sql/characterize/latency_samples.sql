-- latency_samples
-- grain:    one row per sampled successful request reporting ttft_ms or e2e_ms
-- inputs:   summary_request_sample, sample_thresholds, clients
-- params:   (none)
-- Of the `cap` successful requests of each model with the smallest draws of the shared sample,
-- those that report a latency, for the least-squares latency model (statsmodels works in
-- memory).
with models as (
    select distinct model_key, category, model from clients
)

select m.model_key, r.input_tokens, r.output_tokens, r.ttft_ms, r.e2e_ms
from summary_request_sample as r
inner join sample_thresholds as t on r.category = t.category and r.model = t.model
inner join models as m on r.category = m.category and r.model = m.model
where
    r.kind = 'sample' and r.draw <= t.threshold
    and (r.ttft_ms is not null or r.e2e_ms is not null)
order by m.model_key, r.input_tokens, r.output_tokens, r.ttft_ms, r.e2e_ms
