-- per_second
-- grain:    one row per second of [start_s, end_s) (from the origin) with requests of the
--           model, or of one of its clients when client_id is not null
-- inputs:   requests
-- params:   category, model, client_id, origin_us, start_s, end_s
-- Seconds are numbered from start_s; empty seconds are absent (Python fills the zeros).
with selected as (
    select
        (arrival_us - $origin_us) // 1000000 as second,
        input_tokens + output_tokens as tokens
    from requests
    where
        category = $category
        and model = $model
        and ($client_id::varchar is null or client_id = $client_id::varchar)
),

final as (
    select
        second - $start_s as second,
        count(*) as n_requests,
        sum(tokens)::double as tokens
    from selected
    where second >= $start_s and second < $end_s
    group by second
)

select * from final order by second
