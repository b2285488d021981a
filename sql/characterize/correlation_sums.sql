-- correlation_sums
-- grain:    one row per (level, unit_key): level 0 (unit = client_key) or 1 (model_key)
-- inputs:   summary_token_pairs, clients
-- params:   (none)
-- Exact integer moments of input and output tokens and of their ranks over successful
-- requests, from which Pearson (values) and Spearman (ranks) follow without a sample. Ranks
-- are doubled mid-ranks (2 * average rank of tied values, an integer): a value v with `before`
-- smaller values and n copies has 2 * rank = 2 * before + n + 1. The requests come as the
-- merged joint value table of (input, output) pairs, each weighted by its count.
with client_pairs as (
    select c.client_key, c.model_key, p.input_tokens as x, p.output_tokens as y, p.n
    from summary_token_pairs as p
    inner join clients as c
        on p.category = c.category and p.model = c.model and p.client_id = c.client_id
),

pairs as (
    select 0 as level, client_key as unit_key, x, y, n from client_pairs
    union all
    select 1 as level, model_key as unit_key, x, y, sum(n) as n
    from client_pairs
    group by model_key, x, y
),

x_counts as (
    select level, unit_key, x, sum(n) as n from pairs group by level, unit_key, x
),

y_counts as (
    select level, unit_key, y, sum(n) as n from pairs group by level, unit_key, y
),

x_ranks as (
    select
        level,
        unit_key,
        x,
        2 * (sum(n) over (partition by level, unit_key order by x) - n) + n + 1 as rank2
    from x_counts
),

y_ranks as (
    select
        level,
        unit_key,
        y,
        2 * (sum(n) over (partition by level, unit_key order by y) - n) + n + 1 as rank2
    from y_counts
),

ranked as (
    select
        p.level,
        p.unit_key,
        p.n::hugeint as n,
        p.x::hugeint as x,
        p.y::hugeint as y,
        rx.rank2::hugeint as rx,
        ry.rank2::hugeint as ry
    from pairs as p
    inner join x_ranks as rx on p.level = rx.level and p.unit_key = rx.unit_key and p.x = rx.x
    inner join y_ranks as ry on p.level = ry.level and p.unit_key = ry.unit_key and p.y = ry.y
)

select
    level,
    unit_key,
    sum(n)::bigint as n,
    sum(n * x) as sx,
    sum(n * y) as sy,
    sum(n * x * x) as sxx,
    sum(n * y * y) as syy,
    sum(n * x * y) as sxy,
    sum(n * rx) as srx,
    sum(n * ry) as sry,
    sum(n * rx * rx) as srxx,
    sum(n * ry * ry) as sryy,
    sum(n * rx * ry) as srxy
from ranked
group by level, unit_key
order by level, unit_key
