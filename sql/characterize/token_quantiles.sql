-- token_quantiles
-- grain:    one row per (level, unit_key, category, period_index, field) with successful
--           requests; level is 'client' (unit_key = client_key), 'model' (model_key),
--           'category' (category), 'dataset' or 'day' (model_key and period_index)
-- inputs:   token_counts, clients
-- params:   quantiles
-- Token percentiles of successful requests from the exact value -> count tables, equal to
-- DuckDB's quantile_cont over the requests: for N values and fraction q, rn = (N - 1) * q;
-- the values at 0-based ranks floor(rn) and ceil(rn) are the smallest values whose
-- cumulative count exceeds the rank, and the result is lo + (hi - lo) * (rn - floor(rn)).
with keyed as (
    select c.client_key, c.model_key, t.category, t.dataset_index, t.day_index, t.field, t.value, t.n
    from token_counts as t
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
        sum(n) as n
    from keyed
    group by client_key, field, value
    union all
    select 'model', model_key, null, null, field, value, sum(n)
    from keyed
    group by model_key, field, value
    union all
    select 'category', null, category, null, field, value, sum(n)
    from keyed
    group by category, field, value
    union all
    select 'dataset', model_key, null, dataset_index, field, value, sum(n)
    from keyed
    group by model_key, dataset_index, field, value
    union all
    select 'day', model_key, null, day_index, field, value, sum(n)
    from keyed
    group by model_key, day_index, field, value
),

cumulative as (
    select
        *,
        sum(n) over (
            partition by level, unit_key, category, period_index, field
            order by value
            rows between unbounded preceding and current row
        ) as upto
    from histograms
),

totals as (
    select level, unit_key, category, period_index, field, sum(n) as total
    from histograms
    group by level, unit_key, category, period_index, field
),

fractions as (
    select unnest($quantiles) as q, generate_subscripts($quantiles, 1) as q_index
),

positions as (
    select
        level,
        unit_key,
        category,
        period_index,
        field,
        f.q_index,
        (t.total - 1)::double * f.q as rn
    from totals as t
    cross join fractions as f
),

picked as (
    select
        p.level,
        p.unit_key,
        p.category,
        p.period_index,
        p.field,
        p.q_index,
        p.rn,
        min(c.value) filter (where c.upto > floor(p.rn)) as lo,
        min(c.value) filter (where c.upto > ceil(p.rn)) as hi
    from positions as p
    inner join cumulative as c
        on p.level = c.level
        and p.unit_key is not distinct from c.unit_key
        and p.category is not distinct from c.category
        and p.period_index is not distinct from c.period_index
        and p.field = c.field
    group by p.level, p.unit_key, p.category, p.period_index, p.field, p.q_index, p.rn
)

select
    level,
    unit_key,
    category,
    period_index,
    field,
    list(lo::double + (hi::double - lo::double) * (rn - floor(rn)) order by q_index) as quantiles
from picked
group by level, unit_key, category, period_index, field
