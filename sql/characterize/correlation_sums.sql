-- correlation_sums
-- grain:    one row per (level, unit_key): level 0 (unit = client_key) or 1 (model_key)
-- inputs:   char_requests
-- params:   (none)
-- Exact integer moments of input and output tokens and of their ranks over successful
-- requests, from which Pearson (values) and Spearman (ranks) follow without a sample. Ranks
-- are doubled mid-ranks (2 * average rank of tied values, an integer): a value v with `before`
-- smaller values and n copies has 2 * rank = 2 * before + n + 1.
with successes as (
    select 0 as level, client_key as unit_key, input_tokens as x, output_tokens as y
    from char_requests where is_success
    union all
    select 1 as level, model_key as unit_key, input_tokens as x, output_tokens as y
    from char_requests where is_success
),

x_counts as (
    select level, unit_key, x, count(*) as n from successes group by level, unit_key, x
),

y_counts as (
    select level, unit_key, y, count(*) as n from successes group by level, unit_key, y
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
        s.level,
        s.unit_key,
        s.x::hugeint as x,
        s.y::hugeint as y,
        rx.rank2::hugeint as rx,
        ry.rank2::hugeint as ry
    from successes as s
    inner join x_ranks as rx on s.level = rx.level and s.unit_key = rx.unit_key and s.x = rx.x
    inner join y_ranks as ry on s.level = ry.level and s.unit_key = ry.unit_key and s.y = ry.y
)

select
    level,
    unit_key,
    count(*) as n,
    sum(x) as sx,
    sum(y) as sy,
    sum(x * x) as sxx,
    sum(y * y) as syy,
    sum(x * y) as sxy,
    sum(rx) as srx,
    sum(ry) as sry,
    sum(rx * rx) as srxx,
    sum(ry * ry) as sryy,
    sum(rx * ry) as srxy
from ranked
group by level, unit_key
order by level, unit_key
