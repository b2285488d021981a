-- status_codes
-- grain:    one row per (client_key, status) with requests; status NULL when the log has no
--           status for those requests
-- inputs:   char_requests
-- params:   (none)
-- The status code table per client (and, summed, per model).
select
    model_key,
    client_key,
    status,
    count(*) as n
from char_requests
group by model_key, client_key, status
order by model_key, client_key, status nulls first
