-- model_gaps
-- grain:    one row per (model, gap_us) seen in the part
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/1. The gaps between consecutive arrivals of a model (all its
--           clients together; ties are gaps of 0) as an exact value -> count table. The gap a
--           part boundary cuts is added by the merge (from model_streams).
with gaps as (
    select
        model,
        arrival_us - lag(arrival_us) over (partition by model order by arrival_us) as gap_us
    from part_requests
),

final as (
    select model, gap_us, count(*) as n
    from gaps
    where gap_us is not null
    group by model, gap_us
)

select * from final
order by model, gap_us
