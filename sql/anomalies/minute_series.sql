-- minute_series
-- grain:    one row per (category, model, client_id, minute) with requests
-- inputs:   requests
-- params:   origin_us
-- Requests, status classes and tokens per client and minute from the origin, computed over
-- the request table: the shape of the per-minute counts summary, for runs without it.
with final as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // 60000000 as minute,
        count(*) as n_requests,
        count(*) filter (where is_success) as n_success,
        count(status) as n_with_status,
        count(*) filter (where status = 429) as n_429,
        count(*) filter (where status between 500 and 599) as n_5xx,
        count(input_tokens) + count(output_tokens) as n_with_tokens,
        cast(coalesce(sum(input_tokens), 0) as bigint) as input_tokens,
        cast(coalesce(sum(output_tokens), 0) as bigint) as output_tokens
    from requests
    group by category, model, client_id, minute
)

select * from final
order by category, model, client_id, minute
