-- request_days
-- grain:    one row per UTC day (days since 1970-01-01) on which an accepted request arrived
-- inputs:   accepted_requests
-- params:   day_us
select distinct arrival_us // $day_us as day_number
from accepted_requests
order by day_number
