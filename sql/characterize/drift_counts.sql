-- drift_counts
-- grain:    one row per (model_key, field, period_index, value) over successful requests
-- inputs:   summary_token_counts, clients
-- params:   by_day
-- Exact count tables of input and output tokens per period (dataset window, or with by_day a
-- day, from the origin), from which the KS and Wasserstein distances between consecutive
-- periods follow without sampling.
select
    c.model_key,
    t.field,
    case when $by_day then t.day_index else t.dataset_index end as period_index,
    t.value,
    sum(t.n)::bigint as n
from summary_token_counts as t
inner join clients as c
    on t.category = c.category and t.model = c.model and t.client_id = c.client_id
group by c.model_key, t.field, period_index, t.value
order by c.model_key, t.field, period_index, t.value
