-- model_requests
-- grain:    one row per request of the model in [start_s, end_s), by arrival
-- inputs:   requests
-- params:   category, model, origin_us, start_s, end_s
-- contract: arrival_s is seconds from start_s. The capacity simulation and the length
--           correlation need requests one by one: four numbers each, one model at a time.
with final as (
    select
        (arrival_us - $origin_us) / 1e6 - $start_s as arrival_s,
        (input_tokens + output_tokens)::double as tokens,
        input_tokens::double as input_tokens,
        output_tokens::double as output_tokens,
        is_success,
        file_index,
        source_row
    from requests
    where
        category = $category
        and model = $model
        and arrival_us >= $origin_us + $start_s::bigint * 1000000
        and arrival_us < $origin_us + $end_s::bigint * 1000000
)

select * exclude (file_index, source_row)
from final
order by arrival_s, file_index, source_row
