-- status_codes
-- grain:    one row per (client_key, status) with requests; status NULL when the log has no
--           status for those requests
-- inputs:   summary_status_codes, clients
-- params:   (none)
-- The status code table per client (and, summed, per model), from the merged status counts.
select
    c.model_key,
    c.client_key,
    s.status,
    s.n
from summary_status_codes as s
inner join clients as c
    on s.category = c.category and s.model = c.model and s.client_id = c.client_id
order by c.model_key, c.client_key, s.status nulls first
