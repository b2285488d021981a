-- window_counts
-- grain:    one row per (category, model, client_id, window_index) with requests
-- inputs:   parts_window_counts
-- params:   (none)
-- contract: servechar.summaries/2 window_counts (same columns and types as a part): a window
--           cut by a part boundary adds its parts' counts.
select
    category,
    model,
    client_id,
    window_index,
    sum(n_requests)::bigint as n_requests,
    sum(n_2xx)::bigint as n_2xx,
    sum(n_429)::bigint as n_429,
    sum(n_4xx_other)::bigint as n_4xx_other,
    sum(n_5xx)::bigint as n_5xx
from parts_window_counts
group by category, model, client_id, window_index
order by category, model, client_id, window_index
