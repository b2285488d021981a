-- time_grid
-- grain:    one row per (model, finest_tick_us): arrivals by the largest candidate tick that
--           divides their offset from the model's first arrival
-- inputs:   summary_time_grid
-- params:   (none)
-- The merged summary (sql/summaries/part/time_grid.sql counts them, anchored to each
-- model's first arrival).
select model, finest_tick_us, n from summary_time_grid order by model, finest_tick_us
