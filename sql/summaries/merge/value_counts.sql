-- value_counts
-- grain:    one row per (category, model, client_id, field, value)
-- inputs:   parts_value_counts
-- params:   (none)
-- contract: servechar.summaries/2 value_counts: the parts' counts summed (same schema as a
--           part, so a merged summary merges again), sorted by its key.
select category, model, client_id, field, value, sum(n)::bigint as n
from parts_value_counts
group by category, model, client_id, field, value
order by category, model, client_id, field, value
