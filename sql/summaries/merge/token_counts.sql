-- token_counts
-- grain:    one row per (category, model, client_id, dataset_index, day_index, field, value)
-- inputs:   parts_token_counts
-- params:   (none)
-- contract: servechar.summaries/2 token_counts (same columns as a part): counts add.
select
    category,
    model,
    client_id,
    dataset_index,
    day_index,
    field,
    value,
    sum(n)::bigint as n
from parts_token_counts
group by category, model, client_id, dataset_index, day_index, field, value
order by category, model, client_id, dataset_index, day_index, field, value
