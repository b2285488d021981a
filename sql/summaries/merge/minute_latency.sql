-- minute_latency
-- grain:    one row per (category, model, client_id, minute_index, metric, log_bin) with requests
-- inputs:   parts_minute_latency
-- params:   (none)
-- Histograms of disjoint parts add: counts per bin are summed (a minute cut by a part
-- boundary gets its two halves back).
with final as (
    select
        category,
        model,
        client_id,
        minute_index,
        metric,
        log_bin,
        cast(sum(n_requests) as bigint) as n_requests
    from parts_minute_latency
    group by category, model, client_id, minute_index, metric, log_bin
)

select * from final
order by category, model, client_id, minute_index, metric, log_bin
