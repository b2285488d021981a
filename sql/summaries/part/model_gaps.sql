-- model_gaps
-- grain:    one row per (model, gap_us) seen in the part
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/2. The gaps between consecutive arrivals of a model (all its
--           clients together; ties are gaps of 0) as an exact value -> count table. The gap a
--           part boundary cuts is added by the merge (from model_streams).
-- Most gaps are distinct values, so the count groups nearly one row per request: it groups on
-- an integer model key (numbered in the order of the model names) and looks the name up
-- after, which costs about a third less CPU than grouping on the name.
with models as (
    select
        model,
        (row_number() over (order by model))::integer as model_key
    from (select distinct model from part_requests)
),

gaps as (
    select
        m.model_key,
        r.arrival_us - lag(r.arrival_us) over (
            partition by m.model_key order by r.arrival_us
        ) as gap_us
    from part_requests as r
    inner join models as m on r.model = m.model
),

counts as (
    select model_key, gap_us, count(*) as n
    from gaps
    where gap_us is not null
    group by model_key, gap_us
),

names as (
    select list(model order by model_key) as by_key
    from models
)

select
    names.by_key[counts.model_key] as model,
    counts.gap_us,
    counts.n
from counts
cross join names
order by counts.model_key, counts.gap_us
