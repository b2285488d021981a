-- top_clients
-- grain:    one row per (model, client_id) among each model's $top_clients busiest clients
-- inputs:   summary_minute_counts
-- params:   top_clients
-- Clients ranked by requests, then by id (ties never depend on the scan order).
with totals as (
    select
        model,
        client_id,
        sum(n_requests) as n_requests
    from summary_minute_counts
    group by model, client_id
),

ranked as (
    select
        model,
        client_id,
        n_requests,
        row_number() over (partition by model order by n_requests desc, client_id) as client_rank
    from totals
),

final as (
    select
        model,
        client_id,
        n_requests,
        client_rank
    from ranked
    where client_rank <= $top_clients
)

select * from final
order by model, client_rank
