-- arrival_windows
-- grain:    one row per (category, model, client_id, window_index) with requests
-- inputs:   parts_arrival_windows, summary_arrival_times
-- params:   (none)
-- The window's gaps are those of its merged arrivals (summary_arrival_times, merged first,
-- gap_us; parts are disjoint in time, so the gap a part boundary cuts is among them): from them the exact integer count, sums, ties and smallest
-- positive gap one pass sees.
with gaps as (
    select
        category,
        model,
        client_id,
        window_index,
        gap_us as iat_us
    from summary_arrival_times
    where gap_us is not null
),

gap_sums as (
    select
        category,
        model,
        client_id,
        window_index,
        count(*) as n_intervals,
        sum(iat_us::hugeint) as sum_iat_us,
        sum(iat_us::hugeint * iat_us::hugeint) as sum_sq_iat_us,
        count(*) filter (where iat_us = 0) as n_ties,
        min(iat_us) filter (where iat_us > 0) as min_positive_iat_us
    from gaps
    group by category, model, client_id, window_index
),

windows as (
    select
        category,
        model,
        client_id,
        window_index,
        sum(n_requests) as n_requests,
        min(first_us) as first_us,
        max(last_us) as last_us
    from parts_arrival_windows
    group by category, model, client_id, window_index
),

final as (
    select
        w.category,
        w.model,
        w.client_id,
        w.window_index,
        w.n_requests::bigint as n_requests,
        coalesce(g.n_intervals, 0)::bigint as n_intervals,
        coalesce(g.sum_iat_us, 0)::decimal(38, 0) as sum_iat_us,
        coalesce(g.sum_sq_iat_us, 0)::decimal(38, 0) as sum_sq_iat_us,
        coalesce(g.n_ties, 0)::bigint as n_ties,
        g.min_positive_iat_us,
        w.first_us,
        w.last_us
    from windows as w
    left join gap_sums as g
        on
            w.category = g.category
            and w.model = g.model
            and w.client_id = g.client_id
            and w.window_index = g.window_index
)

select * from final
order by category, model, client_id, window_index
