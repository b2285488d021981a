-- client_change
-- grain:    one row per client of model $model with requests in bins [$start_bin, $end_bin)
--           or before them
-- inputs:   summary_minute_counts, summary_minute_latency
-- params:   model, bin_minutes, start_bin, end_bin, ttft_ms, e2e_ms
-- What each client did during a model-level event, against what it usually does: its
-- requests, tokens, 429s and 5xx inside the event and over the whole log, and its requests
-- slower than the model's expected TTFT or end-to-end latency ($ttft_ms, $e2e_ms) inside.
with counts as (
    select
        client_id,
        minute_index // $bin_minutes between $start_bin and $end_bin - 1 as is_inside,
        n_requests,
        n_429,
        n_5xx,
        input_tokens_sum + output_tokens_sum as n_tokens
    from summary_minute_counts
    where model = $model
),

latency as (
    select
        client_id,
        sum(n_requests) filter (where metric = 'ttft_ms') as n_ttft,
        sum(n_requests) filter (
            where metric = 'ttft_ms' and pow(2.0, (log_bin + 0.5) / 8) > $ttft_ms
        ) as n_ttft_slow,
        sum(n_requests) filter (where metric = 'e2e_ms') as n_e2e,
        sum(n_requests) filter (
            where metric = 'e2e_ms' and pow(2.0, (log_bin + 0.5) / 8) > $e2e_ms
        ) as n_e2e_slow
    from summary_minute_latency
    where model = $model and minute_index // $bin_minutes between $start_bin and $end_bin - 1
    group by client_id
),

totals as (
    select
        client_id,
        sum(n_requests) filter (where is_inside) as n_requests_inside,
        sum(n_tokens) filter (where is_inside) as n_tokens_inside,
        sum(n_429) filter (where is_inside) as n_429_inside,
        sum(n_5xx) filter (where is_inside) as n_5xx_inside,
        sum(n_requests) as n_requests_total,
        sum(n_tokens) as n_tokens_total
    from counts
    group by client_id
),

final as (
    select
        t.client_id,
        cast(coalesce(t.n_requests_inside, 0) as bigint) as n_requests_inside,
        cast(coalesce(t.n_tokens_inside, 0) as bigint) as n_tokens_inside,
        cast(coalesce(t.n_429_inside, 0) as bigint) as n_429_inside,
        cast(coalesce(t.n_5xx_inside, 0) as bigint) as n_5xx_inside,
        cast(t.n_requests_total as bigint) as n_requests_total,
        cast(t.n_tokens_total as bigint) as n_tokens_total,
        cast(coalesce(l.n_ttft, 0) as bigint) as n_ttft_inside,
        cast(coalesce(l.n_ttft_slow, 0) as bigint) as n_ttft_slow_inside,
        cast(coalesce(l.n_e2e, 0) as bigint) as n_e2e_inside,
        cast(coalesce(l.n_e2e_slow, 0) as bigint) as n_e2e_slow_inside
    from totals as t
    left join latency as l on t.client_id = l.client_id
)

select * from final
order by client_id
