-- floor_day
-- grain:    one row per checked request of UTC day $day_number
-- inputs:   bare_requests (the checked rows of floor_checked)
-- params:   day_us, day_number
-- The least of the request table: a day's rows sorted by model, client and arrival (on the
-- strings; servechar sorts on an integer key of them, which is cheaper).
select *
from bare_requests
where arrival_us // $day_us = $day_number
order by model, client_id, arrival_us
