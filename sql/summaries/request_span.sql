-- request_span
-- grain:    one row per (model, UTC day) with accepted requests
-- inputs:   requests
-- params:   (none)
-- What is fixed before any part is read: the parts (the UTC days holding requests), the
-- origin (from the first arrival) and each model's first arrival (the anchors). Reads only
-- two columns.
select
    model,
    arrival_us // 86400000000 as day,
    min(arrival_us) as first_us,
    max(arrival_us) as last_us,
    count(*) as n_requests
from requests
group by model, day
order by model, day
