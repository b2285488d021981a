-- time_grid
-- grain:    one row per (model, finest_tick_us): arrivals by the largest candidate tick that
--           divides their offset from the model's first arrival
-- inputs:   requests
-- params:   tick_candidates_us
-- tick_candidates_us holds 9 ticks, ascending, each dividing the next (1 us, 10 us, ...,
-- 10 s, 1 min), so the largest one that divides an offset says which of them all divide it:
-- the share of arrivals on a candidate's grid is the share whose finest_tick_us is at least
-- that candidate. (A CASE over the constant list: a lambda per row costs twice as much.)
with offsets as (
    select
        model,
        arrival_us - min(arrival_us) over (partition by model) as x
    from requests
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

select * from final order by model, finest_tick_us
