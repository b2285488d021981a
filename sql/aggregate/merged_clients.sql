-- merged_clients
-- grain:    one row per (category, model, client_id) with accepted requests
-- inputs:   summary_arrival_windows
-- params:   (none)
-- contract: client_key numbers the clients in (category, model, client_id) order from 0, and
--           model_key the (category, model) pairs: run-numbered keys, made after the merge
--           from the union of the natural keys (every request lies in some trace window).
--           The same numbering as clients.sql makes from the requests.
with distinct_clients as (
    select distinct category, model, client_id from summary_arrival_windows
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
