-- request_keys
-- grain:    one row per (model, client_id) of the checked rows that passed every check
-- inputs:   staged
-- params:   (none)
-- client_order numbers the pairs in the order of the two strings, so sorting a day on it
-- gives the order of sorting on the strings: the day files sort on it (a third less CPU for
-- the sort, which carries every column; the strings were compared and moved in it).
select
    model,
    client_id,
    (row_number() over (order by model, client_id))::integer as client_order
from (select distinct model, client_id from staged where reject_reason is null)
