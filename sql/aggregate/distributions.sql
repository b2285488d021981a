-- distributions
-- grain:    one row per (category, model, client_id, dataset window, field, value), plus
--           the model's own rows over the whole log with client_id and dataset_index NULL
-- inputs:   summary_length_values, clients
-- params:   ratio_points
-- contract: distributions@2 (BREAKING: one row per value, not one literal per field). n
--           counts the requests (items, for per-item modality tokens) with that value; failed
--           requests (non-2xx) are left out. reason_ratio values are the indexes k of a dense
--           grid k/(ratio_points-1), zeros included. `entry` is the `value: probability` text
--           of ServeGen's dict literal, made only of numbers. Rows are sorted by (category,
--           model, client_id, dataset_index, field, value): export joins the entries of one
--           client at a time. Made from the merged value -> count tables (length_values).
with client_counts as (
    select
        c.client_key,
        v.dataset_index,
        v.field,
        v.value,
        v.n
    from summary_length_values as v
    inner join clients as c
        on v.category = c.category and v.model = c.model and v.client_id = c.client_id
),

-- the model's distribution over all its clients; keyed -1 - model_key to share one key column
model_counts as (
    select
        -1 - c.model_key as client_key,
        null::bigint as dataset_index,
        k.field,
        k.value,
        sum(k.n)::bigint as n
    from client_counts as k
    inner join clients as c on k.client_key = c.client_key
    group by c.model_key, k.field, k.value
),

counts as (
    select * from client_counts
    union all
    select * from model_counts
),

ratio_groups as (
    select distinct client_key, dataset_index
    from counts
    where field = 'reason_ratio'
),

dense_ratio as (
    select
        g.client_key,
        g.dataset_index,
        'reason_ratio' as field,
        grid.value,
        coalesce(c.n, 0) as n
    from ratio_groups as g
    cross join (select range as value from range($ratio_points)) as grid
    left join counts as c
        on
            c.field = 'reason_ratio'
            and c.client_key = g.client_key
            and c.dataset_index is not distinct from g.dataset_index
            and c.value = grid.value
),

all_counts as (
    select * from counts where field <> 'reason_ratio'
    union all
    select * from dense_ratio
),

totals as (
    select client_key, dataset_index, field, sum(n) as n_total
    from all_counts
    group by client_key, dataset_index, field
),

entries as (
    select
        a.client_key,
        a.dataset_index,
        a.field,
        a.value,
        a.n,
        case
            when a.field = 'reason_ratio' then (a.value / ($ratio_points - 1))::double::varchar
            else a.value::varchar
        end || ': ' || (a.n / t.n_total)::double::varchar as entry
    from all_counts as a
    inner join totals as t
        on
            a.client_key = t.client_key
            and a.dataset_index is not distinct from t.dataset_index
            and a.field = t.field
),

final as (
    select
        coalesce(c.category, m.category) as category,
        coalesce(c.model, m.model) as model,
        c.client_id,
        e.dataset_index,
        e.field,
        e.value,
        e.n,
        e.entry
    from entries as e
    left join clients as c on e.client_key = c.client_key
    left join (select distinct model_key, category, model from clients) as m
        on e.client_key = -1 - m.model_key
)

select * from final
order by category, model, client_id nulls first, dataset_index nulls first, field, value
