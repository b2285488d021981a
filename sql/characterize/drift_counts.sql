-- drift_counts
-- grain:    one row per (model_key, field, period_index, value) over successful requests
-- inputs:   char_requests
-- params:   period_us
-- Exact count tables of input and output tokens per period, from which the KS and Wasserstein
-- distances between consecutive periods follow without sampling.
with counts as (
    select
        model_key,
        'input_tokens' as field,
        offset_us // $period_us as period_index,
        input_tokens as value,
        count(*) as n
    from char_requests
    where is_success
    group by model_key, period_index, input_tokens
    union all
    select
        model_key,
        'output_tokens' as field,
        offset_us // $period_us as period_index,
        output_tokens as value,
        count(*) as n
    from char_requests
    where is_success
    group by model_key, period_index, output_tokens
)

select * from counts order by model_key, field, period_index, value
