-- status_codes
-- grain:    one row per (category, model, client_id, status) with requests
-- inputs:   parts_status_codes
-- params:   (none)
-- contract: servechar.summaries/2 status_codes (same columns as a part): counts add.
select
    category,
    model,
    client_id,
    status,
    sum(n)::bigint as n
from parts_status_codes
group by category, model, client_id, status
order by category, model, client_id, status nulls first
