-- drift_summary
-- grain:    one row per (model_key, period_index) with successful requests
-- inputs:   summary_token_counts, clients
-- params:   by_day
-- Per period (a dataset window, or with by_day a day) from the origin: the count and exact
-- token sums (means without float-order effects), from the merged token value tables; the
-- percentiles come from token_histograms.sql.
with periods as (
    select
        c.model_key,
        case when $by_day then t.day_index else t.dataset_index end as period_index,
        t.field,
        sum(t.n)::bigint as n,
        sum(t.value::hugeint * t.n) as tokens_sum
    from summary_token_counts as t
    inner join clients as c
        on t.category = c.category and t.model = c.model and t.client_id = c.client_id
    group by c.model_key, period_index, t.field
)

select
    i.model_key,
    i.period_index,
    i.n,
    i.tokens_sum as input_tokens_sum,
    o.tokens_sum as output_tokens_sum
from periods as i
inner join periods as o
    on i.model_key = o.model_key and i.period_index = o.period_index and o.field = 'output_tokens'
where i.field = 'input_tokens'
order by i.model_key, i.period_index
