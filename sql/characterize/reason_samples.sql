-- reason_samples
-- grain:    one row per sampled successful request with reason_tokens and output_tokens > 0
-- inputs:   summary_request_sample, sample_thresholds, summary_value_counts, clients
-- params:   (none)
-- Of the `cap` successful requests of each model with the smallest draws of the shared sample,
-- those with reasoning and output: reasoning and answer tokens; n = the model's successful
-- requests with both (the count of its reason_ratio values).
with models as (
    select distinct model_key, category, model from clients
),

totals as (
    select category, model, sum(n) as n
    from summary_value_counts
    where field = 'reason_ratio'
    group by category, model
)

select
    m.model_key,
    t.n,
    r.reason_tokens,
    r.output_tokens - r.reason_tokens as answer_tokens
from summary_request_sample as r
inner join sample_thresholds as h on r.category = h.category and r.model = h.model
inner join totals as t on r.category = t.category and r.model = t.model
inner join models as m on r.category = m.category and r.model = m.model
where
    r.kind = 'sample' and r.draw <= h.threshold
    and r.reason_tokens is not null and r.output_tokens > 0
order by m.model_key, r.reason_tokens, answer_tokens
