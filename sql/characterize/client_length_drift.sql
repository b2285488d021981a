-- client_length_drift
-- grain:    one row per client_key with successful requests in at least 2 periods
-- inputs:   summary_token_counts, clients
-- params:   (none)
-- The largest Kolmogorov-Smirnov distance between a client's input-length distributions in
-- consecutive periods (dataset windows) in which it has successful requests. Each pair's two
-- CDFs are cumulative shares over the union of their values, ordered by value (a fixed
-- order, so the float sums are deterministic). The counts are the merged token value tables.
with counts as (
    select
        c.client_key,
        t.dataset_index as period_index,
        t.value,
        sum(t.n)::bigint as n
    from summary_token_counts as t
    inner join clients as c
        on t.category = c.category and t.model = c.model and t.client_id = c.client_id
    where t.field = 'input_tokens'
    group by c.client_key, t.dataset_index, t.value
),

periods as (
    select
        client_key,
        period_index,
        sum(n) as total,
        lead(period_index) over (partition by client_key order by period_index) as next_index
    from counts
    group by client_key, period_index
),

pair_values as (
    select p.client_key, p.period_index as pair_index, c.value, c.n / p.total as share_a, 0.0 as share_b
    from periods as p
    inner join counts as c on p.client_key = c.client_key and p.period_index = c.period_index
    where p.next_index is not null
    union all
    select p.client_key, p.period_index as pair_index, c.value, 0.0 as share_a, c.n / q.total as share_b
    from periods as p
    inner join counts as c on p.client_key = c.client_key and p.next_index = c.period_index
    inner join periods as q on p.client_key = q.client_key and p.next_index = q.period_index
),

merged as (
    select client_key, pair_index, value, sum(share_a) as share_a, sum(share_b) as share_b
    from pair_values
    group by client_key, pair_index, value
),

gaps as (
    select
        client_key,
        abs(
            sum(share_a) over (partition by client_key, pair_index order by value)
            - sum(share_b) over (partition by client_key, pair_index order by value)
        ) as gap
    from merged
)

select client_key, max(gap) as input_ks_max
from gaps
group by client_key
order by client_key
