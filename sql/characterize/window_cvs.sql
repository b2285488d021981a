-- window_cvs
-- grain:    one row per client trace window with at least 2 inter-arrival intervals
-- inputs:   trace_windows
-- params:   (none)
-- The per-window CV (population sd / mean of the inter-arrival times) and the window's
-- request count, its weight in the rate-weighted CDF.
select
    c.model_key,
    w.client_key,
    w.window_index,
    w.n_requests,
    w.cv
from trace_windows as w
inner join clients as c on w.client_key = c.client_key
where w.cv is not null
order by w.client_key, w.window_index
