-- bare_windows
-- grain:    one row per (model, client_id, trace window) with at least one request
-- inputs:   bare_requests
-- params:   window_us
-- Trace windows are counted from the epoch; servechar's origin is a UTC midnight, so for
-- window lengths dividing a day (600 s by default) the windows are the same. The inter-arrival
-- time is taken to the previous request of the same client in the same window, as servechar's
-- arrivals do.
with windowed as (
    select
        model,
        client_id,
        arrival_us // $window_us as window_index,
        arrival_us
    from bare_requests
),

gaps as (
    select
        model,
        client_id,
        window_index,
        arrival_us - lag(arrival_us) over (
            partition by model, client_id, window_index order by arrival_us
        ) as iat_us
    from windowed
),

final as (
    select
        model,
        client_id,
        window_index,
        count(*) as n_requests,
        count(iat_us) as n_intervals,
        avg(iat_us) / 1e6 as mean_iat_s,
        stddev_pop(iat_us) / 1e6 as std_iat_s,
        avg(ln(iat_us / 1e6)) filter (where iat_us > 0) as mean_log_iat
    from gaps
    group by model, client_id, window_index
)

select * from final
order by model, client_id, window_index
