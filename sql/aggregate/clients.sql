-- clients
-- grain:    one row per (category, model, client_id) with accepted requests
-- inputs:   requests
-- params:   (none)
-- contract: client_key numbers the clients in (category, model, client_id) order from 0, so
--           that heavy per-request work groups and sorts on one integer instead of 3 strings.
with distinct_clients as (
    select distinct category, model, client_id from requests
),

final as (
    select
        row_number() over (order by category, model, client_id) - 1 as client_key,
        dense_rank() over (order by category, model) - 1 as model_key,
        category,
        model,
        client_id
    from distinct_clients
)

select * from final order by client_key
