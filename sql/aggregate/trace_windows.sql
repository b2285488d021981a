-- trace_windows
-- grain:    one row per (category, model, client_id, trace window) with at least one request
-- inputs:   summary_arrival_windows, clients
-- params:   window_us
-- contract: trace_windows@1. window_key numbers the rows in grain order (from 0); the
--           interarrivals artefact refers to it. cv is the population standard deviation of
--           the window's inter-arrival times over their mean (NULL below 2 intervals).
-- The moments come from the merged summary's exact integer sums of microseconds, so that they
-- depend neither on thread order nor on how the log was split into parts:
-- cv = sqrt(n * sum(x^2) - sum(x)^2) / sum(x).
with per_window as (
    select
        c.client_key,
        c.category,
        c.model,
        c.client_id,
        w.window_index,
        w.n_requests,
        w.n_intervals,
        -- NULL without intervals, as a sum over no gaps is (the mean is then NULL, not NaN)
        case when w.n_intervals > 0 then w.sum_iat_us::hugeint end as sum_iat_us,
        w.sum_sq_iat_us::hugeint as sum_sq_iat_us,
        w.min_positive_iat_us
    from summary_arrival_windows as w
    inner join clients as c
        on w.category = c.category and w.model = c.model and w.client_id = c.client_id
),

final as (
    select
        row_number() over (order by client_key, window_index) - 1 as window_key,
        client_key,
        category,
        model,
        client_id,
        window_index,
        n_requests,
        n_requests / ($window_us / 1e6) as rate_rps,
        n_intervals,
        sum_iat_us::double / n_intervals / 1e6 as mean_iat_s,
        case
            when n_intervals >= 2 and sum_iat_us > 0
                then sqrt((n_intervals * sum_sq_iat_us - sum_iat_us * sum_iat_us)::double)
                / sum_iat_us::double
        end as cv,
        min_positive_iat_us / 1e6 as min_positive_iat_s
    from per_window
)

select * from final order by window_key
