-- time_span
-- grain:    one row: the accepted requests' first and last arrival and their count
-- inputs:   requests
-- params:   (none)
select
    min(arrival_us) as first_arrival_us,
    max(arrival_us) as last_arrival_us,
    count(*) as n_requests
from requests
