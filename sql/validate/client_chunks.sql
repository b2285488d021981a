-- client_chunks
-- grain:    one row per client of the model with requests before train_end_us
-- inputs:   requests
-- params:   category, model, train_end_us
-- contract: chunk numbers clients as export does (by request count, largest first, then
--           client id), so that a real client is matched to its profile without its name.
with counted as (
    select
        client_id,
        count(*) as n_requests
    from requests
    where category = $category and model = $model and arrival_us < $train_end_us
    group by client_id
),

final as (
    select
        client_id,
        n_requests,
        row_number() over (order by n_requests desc, client_id) - 1 as chunk
    from counted
)

select * from final order by chunk
