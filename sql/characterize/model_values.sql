-- model_values
-- grain:    one row per (model_key, field, value) of the value -> count tables
-- inputs:   summary_value_counts, clients
-- params:   (none)
-- The merged value -> count tables (summaries topic value_counts) of each model, its clients'
-- counts added: reasoning, latency and multimodal percentiles and sums follow exactly.
with models as (
    select distinct model_key, category, model from clients
)

select m.model_key, v.field, v.value, sum(v.n)::bigint as n
from summary_value_counts as v
inner join models as m on v.category = m.category and v.model = m.model
group by m.model_key, v.field, v.value
order by m.model_key, v.field, v.value
