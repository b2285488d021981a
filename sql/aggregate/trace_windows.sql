-- trace_windows
-- grain:    one row per (category, model, client_id, trace window) with at least one request
-- inputs:   arrivals, clients
-- params:   window_us
-- contract: trace_windows@1. window_key numbers the rows in grain order (from 0); the
--           interarrivals artefact refers to it. cv is the population standard deviation of
--           the window's inter-arrival times over their mean (NULL below 2 intervals).
-- The moments come from exact integer sums of microseconds, so that they do not depend on
-- the order in which parallel threads combine partial sums (byte-identical outputs):
-- cv = sqrt(n * sum(x^2) - sum(x)^2) / sum(x).
with per_window as (
    select
        client_key,
        window_index,
        count(*) as n_requests,
        count(iat_us) as n_intervals,
        sum(iat_us::hugeint) as sum_iat_us,
        sum(iat_us::hugeint * iat_us::hugeint) as sum_sq_iat_us,
        min(iat_us) filter (where iat_us > 0) / 1e6 as min_positive_iat_s
    from arrivals
    group by client_key, window_index
),

final as (
    select
        row_number() over (order by w.client_key, w.window_index) - 1 as window_key,
        w.client_key,
        c.category,
        c.model,
        c.client_id,
        w.window_index,
        n_requests,
        n_requests / ($window_us / 1e6) as rate_rps,
        n_intervals,
        sum_iat_us::double / n_intervals / 1e6 as mean_iat_s,
        case
            when n_intervals >= 2 and sum_iat_us > 0
                then sqrt((n_intervals * sum_sq_iat_us - sum_iat_us * sum_iat_us)::double)
                / sum_iat_us::double
        end as cv,
        min_positive_iat_s
    from per_window as w
    inner join clients as c on w.client_key = c.client_key
)

select * from final order by window_key
