-- length_values
-- grain:    one row per (category, model, client_id, dataset_index, field, value)
-- inputs:   parts_length_values
-- params:   (none)
-- Value -> count tables add up.
select category, model, client_id, dataset_index, field, value, sum(n)::bigint as n
from parts_length_values
group by category, model, client_id, dataset_index, field, value
order by category, model, client_id, dataset_index, field, value
