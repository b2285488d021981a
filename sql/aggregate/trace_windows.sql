-- trace_windows
-- grain:    one row per (category, model, client_id, trace window) with at least one request
-- inputs:   arrivals
-- params:   window_us
-- contract: trace_windows@1. window_key numbers the rows in grain order (from 0); the
--           interarrivals artefact refers to it. cv is the population standard deviation of
--           the window's inter-arrival times over their mean (NULL below 2 intervals).
with per_window as (
    select
        category,
        model,
        client_id,
        window_index,
        count(*) as n_requests,
        count(iat_us) as n_intervals,
        avg(iat_us) / 1e6 as mean_iat_s,
        stddev_pop(iat_us) / 1e6 as sd_iat_s,
        min(iat_us) filter (where iat_us > 0) / 1e6 as min_positive_iat_s
    from arrivals
    group by category, model, client_id, window_index
),

final as (
    select
        row_number() over (order by category, model, client_id, window_index) - 1 as window_key,
        category,
        model,
        client_id,
        window_index,
        n_requests,
        n_requests / ($window_us / 1e6) as rate_rps,
        n_intervals,
        mean_iat_s,
        case when n_intervals >= 2 and mean_iat_s > 0 then sd_iat_s / mean_iat_s end as cv,
        min_positive_iat_s
    from per_window
)

select * from final order by window_key
