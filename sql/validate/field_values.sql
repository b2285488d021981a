-- field_values
-- grain:    one row per (field, value) of the successful requests in [start_s, end_s) of the
--           model, or of one of its clients when client_id is not null
-- inputs:   requests
-- params:   category, model, client_id, origin_us, start_s, end_s
-- The value tables that length distances and percentiles are computed from.
with selected as (
    select
        input_tokens,
        output_tokens,
        reason_tokens
    from requests
    where
        category = $category
        and model = $model
        and ($client_id::varchar is null or client_id = $client_id::varchar)
        and is_success
        and arrival_us >= $origin_us + $start_s::bigint * 1000000
        and arrival_us < $origin_us + $end_s::bigint * 1000000
),

long as (
    unpivot selected
    on input_tokens, output_tokens, reason_tokens
    into name field value token_count
),

final as (
    select
        field,
        token_count,
        count(*) as n
    from long
    group by field, token_count
)

select * from final order by field, token_count
