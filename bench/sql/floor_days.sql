-- floor_days
-- grain:    one row per UTC day with requests, as days since 1970-01-01
-- inputs:   bare_requests (the checked rows of floor_checked)
-- params:   day_us
select distinct arrival_us // $day_us as day_number
from bare_requests
order by day_number
