-- token_histograms
-- grain:    one row per (level, unit_key, category, period_index, field) with successful
--           requests; level is 'client' (unit_key = client_key), 'model' (model_key),
--           'category' (category), 'dataset' or 'day' (model_key and period_index)
-- inputs:   summary_token_counts, clients
-- params:   (none)
-- The exact value -> count tables of input and output tokens of every client, model,
-- category, dataset window and day, sums of the merged token counts, as lists of values and
-- their counts in value order; the percentiles follow from them exactly (fitting.quantiles).
with keyed as (
    select c.client_key, c.model_key, t.category, t.dataset_index, t.day_index, t.field, t.value, t.n
    from summary_token_counts as t
    inner join clients as c
        on t.category = c.category and t.model = c.model and t.client_id = c.client_id
    where t.value is not null
),

histograms as (
    select
        'client' as level,
        client_key as unit_key,
        null::varchar as category,
        null::bigint as period_index,
        field,
        value,
        sum(n)::bigint as n
    from keyed
    group by client_key, field, value
    union all
    select 'model', model_key, null, null, field, value, sum(n)::bigint
    from keyed
    group by model_key, field, value
    union all
    select 'category', null, category, null, field, value, sum(n)::bigint
    from keyed
    group by category, field, value
    union all
    select 'dataset', model_key, null, dataset_index, field, value, sum(n)::bigint
    from keyed
    group by model_key, dataset_index, field, value
    union all
    select 'day', model_key, null, day_index, field, value, sum(n)::bigint
    from keyed
    group by model_key, day_index, field, value
)

select
    level,
    unit_key,
    category,
    period_index,
    field,
    list(value order by value) as "values",
    list(n order by value) as counts
from histograms
group by level, unit_key, category, period_index, field
order by level, unit_key, category, period_index, field
