-- cv_cdf
-- grain:    one row per point of each model's CDF of client-window CVs, for two weightings:
--           'requests' (windows weighted by their request count) and 'windows' (weight 1)
-- inputs:   trace_windows, clients
-- params:   points
-- The curve is thinned in SQL, so that a log with millions of client windows never reaches
-- Python: a window (in order of cv, then window_key) is kept when its cumulative weight
-- crosses one of `points` evenly spaced levels (all windows are kept when there are no more
-- than `points`). Integer cumulative weights make the choice exact. weight_above_1 is the
-- model's weight in windows with a CV above 1 (burstier than Poisson).
with windows as (
    select c.model_key, w.window_key, w.cv, w.n_requests
    from trace_windows as w
    inner join clients as c on w.client_key = c.client_key
    where w.cv is not null
),

weighted as (
    select
        model_key,
        'requests' as weighting,
        cv,
        n_requests as weight,
        sum(n_requests) over (
            partition by model_key order by cv, window_key
            rows between unbounded preceding and current row
        ) as cumulative,
        sum(n_requests) over (partition by model_key) as total,
        sum(case when cv > 1 then n_requests else 0 end) over (
            partition by model_key
        ) as weight_above_1,
        count(*) over (partition by model_key) as n_windows
    from windows
    union all
    select
        model_key,
        'windows' as weighting,
        cv,
        1 as weight,
        row_number() over (partition by model_key order by cv, window_key) as cumulative,
        count(*) over (partition by model_key) as total,
        count(*) filter (where cv > 1) over (partition by model_key) as weight_above_1,
        count(*) over (partition by model_key) as n_windows
    from windows
)

select model_key, weighting, cv, cumulative, total, weight_above_1
from weighted
where
    n_windows <= $points
    or (cumulative * $points) // total > ((cumulative - weight) * $points) // total
order by model_key, weighting, cumulative
