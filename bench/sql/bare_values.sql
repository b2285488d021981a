-- bare_values
-- grain:    one row per (model, client_id, dataset window, field, value)
-- inputs:   bare_requests
-- params:   dataset_window_us
-- Value counts of the input and output tokens of successful requests (2xx or no status), the
-- requests servechar's length distributions count.
with source as (
    select
        model,
        client_id,
        arrival_us // $dataset_window_us as dataset_index,
        input_tokens,
        output_tokens
    from bare_requests
    where is_success
),

final as (
    select model, client_id, dataset_index, 'input_tokens' as field, input_tokens as value, count(*) as n
    from source where input_tokens is not null
    group by model, client_id, dataset_index, input_tokens
    union all
    select model, client_id, dataset_index, 'output_tokens' as field, output_tokens as value, count(*) as n
    from source where output_tokens is not null
    group by model, client_id, dataset_index, output_tokens
)

select * from final
order by model, client_id, dataset_index, field, value
