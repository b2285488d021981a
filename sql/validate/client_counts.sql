-- client_counts
-- grain:    one row per client of the model with requests in [start_s, end_s)
-- inputs:   requests
-- params:   category, model, origin_us, start_s, end_s
with final as (
    select
        client_id,
        count(*) as n_requests
    from requests
    where
        category = $category
        and model = $model
        and arrival_us >= $origin_us + $start_s::bigint * 1000000
        and arrival_us < $origin_us + $end_s::bigint * 1000000
    group by client_id
)

select * from final order by client_id
