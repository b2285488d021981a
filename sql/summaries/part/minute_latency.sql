-- minute_latency
-- grain:    one row per (category, model, client_id, minute_index, metric, log_bin) with
--           requests in the part; metric 'ttft_ms' or 'e2e_ms', successful requests (2xx or
--           no status) that report it
-- inputs:   part_requests
-- params:   origin_us
-- contract: servechar.summaries/2 minute_latency. A mergeable log-binned histogram of the
-- latencies of each client's minute (minute_index as minute_counts: whole minutes from the
-- origin). Bin k holds the values in [2^(k/8), 2^((k+1)/8)) ms (eighth-octave bins);
-- values under 0.001 ms count as 0.001 ms. A percentile read at the bin's geometric middle,
-- 2^((k+0.5)/8) ms, is within 2^(1/16) - 1 = 4.4 % of the exact value of the same rank.
with long_form as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // 60000000 as minute_index,
        'ttft_ms' as metric,
        ttft_ms as value_ms
    from part_requests
    where is_success and ttft_ms is not null
    union all
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // 60000000 as minute_index,
        'e2e_ms' as metric,
        e2e_ms as value_ms
    from part_requests
    where is_success and e2e_ms is not null
),

final as (
    select
        category,
        model,
        client_id,
        minute_index,
        metric,
        cast(floor(8 * log2(greatest(value_ms, 0.001))) as integer) as log_bin,
        count(*) as n_requests
    from long_form
    group by category, model, client_id, minute_index, metric, log_bin
)

select * from final
order by category, model, client_id, minute_index, metric, log_bin
