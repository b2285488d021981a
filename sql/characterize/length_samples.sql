-- length_samples
-- grain:    one row per sampled successful request of a model
-- inputs:   summary_request_sample, sample_thresholds, clients
-- params:   (none)
-- The `cap` successful requests of each model with the smallest draws of the shared sample
-- (summaries topic request_sample: the first cap of its bottom-k, no scan of the requests),
-- and the model's successful requests in total. Rows come unordered; the caller sorts each
-- model's values.
with models as (
    select distinct model_key, category, model from clients
),

spans as (
    select category, model, n_success from summary_request_sample where kind = 'span'
)

select m.model_key, s.n_success as n, r.input_tokens, r.output_tokens
from summary_request_sample as r
inner join sample_thresholds as t on r.category = t.category and r.model = t.model
inner join spans as s on r.category = s.category and r.model = s.model
inner join models as m on r.category = m.category and r.model = m.model
where r.kind = 'sample' and r.draw <= t.threshold
