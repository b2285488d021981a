-- request_keys
-- grain:    one row per (model, client_id) of the accepted requests
-- inputs:   accepted_requests (all of them, or one day's on Spark)
-- params:   (none)
-- client_order numbers the pairs in the order of the two strings, so sorting a day on it
-- gives the order of sorting on the strings: the day files sort on it (a third less CPU for
-- the sort, which carries every column; the strings were compared and moved in it). Numbered
-- over one day's pairs only, it orders that day's rows the same way.
select
    model,
    client_id,
    (row_number() over (order by model, client_id))::integer as client_order
from (select distinct model, client_id from accepted_requests)
