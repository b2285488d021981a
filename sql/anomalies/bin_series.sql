-- bin_series
-- grain:    one row per (model, client_id, bin_index) with requests; client_id NULL for the
--           model's aggregate, otherwise one of the model's top clients
-- inputs:   summary_minute_counts, summary_minute_latency, top_clients
-- params:   bin_minutes
-- The series the anomaly detector scores, per bin of $bin_minutes minutes from the origin,
-- from the merged per-minute summaries (docs/summaries.md): requests, requests with a status,
-- 429 and 5xx answers, tokens of the successful requests.
-- Latency percentiles use the nearest rank (the value of rank ceil(p * n)) of the merged
-- eighth-octave histogram, read at the bin's geometric middle (within 4.4 %).
with counts as (
    select
        model,
        client_id,
        minute_index // $bin_minutes as bin_index,
        n_requests,
        n_requests - n_no_status as n_with_status,
        n_429,
        n_5xx,
        n_success,
        input_tokens_sum + output_tokens_sum as n_tokens
    from summary_minute_counts
),

model_counts as (
    select
        model,
        cast(null as varchar) as client_id,
        bin_index,
        sum(n_requests) as n_requests,
        sum(n_with_status) as n_with_status,
        sum(n_429) as n_429,
        sum(n_5xx) as n_5xx,
        sum(n_success) as n_success,
        sum(n_tokens) as n_tokens
    from counts
    group by model, bin_index
),

client_counts as (
    select
        c.model,
        c.client_id,
        c.bin_index,
        sum(c.n_requests) as n_requests,
        sum(c.n_with_status) as n_with_status,
        sum(c.n_429) as n_429,
        sum(c.n_5xx) as n_5xx,
        sum(c.n_success) as n_success,
        sum(c.n_tokens) as n_tokens
    from counts as c
    semi join top_clients as t on c.model = t.model and c.client_id = t.client_id
    group by c.model, c.client_id, c.bin_index
),

histograms as (
    select
        model,
        client_id,
        minute_index // $bin_minutes as bin_index,
        metric,
        log_bin,
        n_requests
    from summary_minute_latency
),

binned as (
    select
        model,
        cast(null as varchar) as client_id,
        bin_index,
        metric,
        log_bin,
        sum(n_requests) as n
    from histograms
    group by model, bin_index, metric, log_bin
    union all
    select
        h.model,
        h.client_id,
        h.bin_index,
        h.metric,
        h.log_bin,
        sum(h.n_requests) as n
    from histograms as h
    semi join top_clients as t on h.model = t.model and h.client_id = t.client_id
    group by h.model, h.client_id, h.bin_index, h.metric, h.log_bin
),

cumulative as (
    select
        model,
        client_id,
        bin_index,
        metric,
        log_bin,
        sum(n) over (
            partition by model, client_id, bin_index, metric
            order by log_bin rows between unbounded preceding and current row
        ) as n_below,
        sum(n) over (partition by model, client_id, bin_index, metric) as n_total
    from binned
),

percentiles as (
    select
        model,
        client_id,
        bin_index,
        metric,
        any_value(n_total) as n_values,
        min(log_bin) filter (where n_below >= ceil(0.5 * n_total)) as p50_bin,
        min(log_bin) filter (where n_below >= ceil(0.99 * n_total)) as p99_bin
    from cumulative
    group by model, client_id, bin_index, metric
),

latency as (
    select
        model,
        client_id,
        bin_index,
        max(n_values) filter (where metric = 'ttft_ms') as n_ttft,
        max(pow(2.0, (p50_bin + 0.5) / 8)) filter (where metric = 'ttft_ms') as ttft_p50_ms,
        max(pow(2.0, (p99_bin + 0.5) / 8)) filter (where metric = 'ttft_ms') as ttft_p99_ms,
        max(n_values) filter (where metric = 'e2e_ms') as n_e2e,
        max(pow(2.0, (p99_bin + 0.5) / 8)) filter (where metric = 'e2e_ms') as e2e_p99_ms
    from percentiles
    group by model, client_id, bin_index
),

all_counts as (
    select * from model_counts
    union all
    select * from client_counts
),

final as (
    select
        c.model,
        c.client_id,
        c.bin_index,
        cast(c.n_requests as bigint) as n_requests,
        cast(c.n_with_status as bigint) as n_with_status,
        cast(c.n_429 as bigint) as n_429,
        cast(c.n_5xx as bigint) as n_5xx,
        cast(c.n_success as bigint) as n_success,
        cast(c.n_tokens as bigint) as n_tokens,
        cast(coalesce(l.n_ttft, 0) as bigint) as n_ttft,
        l.ttft_p50_ms,
        l.ttft_p99_ms,
        cast(coalesce(l.n_e2e, 0) as bigint) as n_e2e,
        l.e2e_p99_ms
    from all_counts as c
    left join latency as l
        on
            c.model = l.model
            and c.client_id is not distinct from l.client_id
            and c.bin_index = l.bin_index
)

select * from final
order by model, client_id nulls first, bin_index
