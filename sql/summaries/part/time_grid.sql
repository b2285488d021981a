-- time_grid
-- grain:    one row per (model, finest_tick_us) seen in the part: arrivals by the largest
--           candidate tick that divides their offset from the model's first arrival
-- inputs:   part_requests
-- params:   tick_candidates_us, anchor_models, anchor_first_us
-- contract: servechar.summaries/2. Anchored to each model's first arrival in the whole log
--           (anchor_first_us[i] of anchor_models[i]), fixed before any part is read.
--           tick_candidates_us holds 9 ticks, ascending, each dividing the next (1 us, 10 us,
--           ..., 10 s, 1 min), so the largest one that divides an offset says which of them
--           all divide it. (A CASE over the constant list: a lambda per row costs twice as
--           much.)
with anchors as (
    select
        unnest($anchor_models::varchar []) as model,
        unnest($anchor_first_us::bigint []) as first_us
),

offsets as (
    select
        r.model,
        case
            when a.first_us is null then error('time_grid: a model without an anchor')
            else r.arrival_us - a.first_us
        end as x
    from part_requests as r
    left join anchors as a on r.model = a.model
),

final as (
    select
        model,
        case
            when x % $tick_candidates_us[9] = 0 then $tick_candidates_us[9]
            when x % $tick_candidates_us[8] = 0 then $tick_candidates_us[8]
            when x % $tick_candidates_us[7] = 0 then $tick_candidates_us[7]
            when x % $tick_candidates_us[6] = 0 then $tick_candidates_us[6]
            when x % $tick_candidates_us[5] = 0 then $tick_candidates_us[5]
            when x % $tick_candidates_us[4] = 0 then $tick_candidates_us[4]
            when x % $tick_candidates_us[3] = 0 then $tick_candidates_us[3]
            when x % $tick_candidates_us[2] = 0 then $tick_candidates_us[2]
            else $tick_candidates_us[1]
        end as finest_tick_us,
        count(*) as n
    from offsets
    group by all
)

select * from final
order by model, finest_tick_us
