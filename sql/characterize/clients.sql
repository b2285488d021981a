-- clients
-- grain:    one row per (category, model, client_id) with accepted requests
-- inputs:   summary_minute_counts
-- params:   (none)
-- contract: the numbering of aggregate/clients.sql (client_key in (category, model, client_id)
--           order from 0, model_key in (category, model) order), from the merged per-minute
--           summary instead of a scan of the requests: every client with a request has a
--           minute row.
with distinct_clients as (
    select distinct category, model, client_id from summary_minute_counts
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
