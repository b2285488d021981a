-- time_grid
-- grain:    one row per (model, finest_tick_us)
-- inputs:   parts_time_grid
-- params:   (none)
-- Counts add up (every part used the same anchors: the runner checks).
select model, finest_tick_us, sum(n)::bigint as n
from parts_time_grid
group by model, finest_tick_us
order by model, finest_tick_us
