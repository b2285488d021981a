-- model_gaps
-- grain:    one row per (model, gap_us)
-- inputs:   parts_model_gaps, parts_model_streams
-- params:   (none)
-- The parts' counts summed, plus the gap between consecutive parts of a model.
with boundary as (
    select
        model,
        first_us - lag(last_us) over (partition by model order by first_us) as gap_us
    from parts_model_streams
),

counts as (
    select model, gap_us, n from parts_model_gaps
    union all
    select model, gap_us, 1 as n from boundary where gap_us is not null
),

final as (
    select model, gap_us, sum(n)::bigint as n
    from counts
    group by model, gap_us
)

select * from final
order by model, gap_us
