-- window_counts
-- grain:    one row per (category, model, client_id, window_index) with requests in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/2 window_counts. window_index counts trace windows
--           (`--window`, any length) from the origin. Requests by status class as
--           minute_counts classes them (n_other: the rest, requests without a status
--           included), for the rate per trace window and the status mix over time.
select
    category,
    model,
    client_id,
    (arrival_us - $origin_us) // $window_us as window_index,
    count(*) as n_requests,
    count(*) filter (where status between 200 and 299) as n_2xx,
    count(*) filter (where status = 429) as n_429,
    count(*) filter (where status between 400 and 499 and status <> 429) as n_4xx_other,
    count(*) filter (where status between 500 and 599) as n_5xx
from part_requests
group by category, model, client_id, window_index
order by category, model, client_id, window_index
