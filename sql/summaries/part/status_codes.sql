-- status_codes
-- grain:    one row per (category, model, client_id, status) with requests in the part; status
--           NULL for requests without one
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/2 status_codes: requests per status code.
select
    category,
    model,
    client_id,
    status,
    count(*) as n
from part_requests
group by category, model, client_id, status
order by category, model, client_id, status nulls first
