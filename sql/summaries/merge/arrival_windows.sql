-- arrival_windows
-- grain:    one row per (category, model, client_id, window_index) with requests
-- inputs:   parts_arrival_windows
-- params:   (none)
-- Parts are disjoint in time, so ordering a window's parts by first_us orders its arrivals;
-- the gap between one part's last arrival and the next part's first is the gap one pass sees
-- there, added to the count, the sums, the ties and the minimum.
with boundary as (
    select
        category,
        model,
        client_id,
        window_index,
        first_us - lag(last_us) over (
            partition by category, model, client_id, window_index order by first_us
        ) as gap_us
    from parts_arrival_windows
),

boundary_sums as (
    select
        category,
        model,
        client_id,
        window_index,
        count(gap_us) as n_intervals,
        coalesce(sum(gap_us::hugeint), 0) as sum_iat_us,
        coalesce(sum(gap_us::hugeint * gap_us::hugeint), 0) as sum_sq_iat_us,
        count(*) filter (where gap_us = 0) as n_ties,
        min(gap_us) filter (where gap_us > 0) as min_positive_iat_us
    from boundary
    group by category, model, client_id, window_index
),

part_sums as (
    select
        category,
        model,
        client_id,
        window_index,
        sum(n_requests) as n_requests,
        sum(n_intervals) as n_intervals,
        sum(sum_iat_us::hugeint) as sum_iat_us,
        sum(sum_sq_iat_us::hugeint) as sum_sq_iat_us,
        sum(n_ties) as n_ties,
        min(min_positive_iat_us) as min_positive_iat_us,
        min(first_us) as first_us,
        max(last_us) as last_us
    from parts_arrival_windows
    group by category, model, client_id, window_index
),

final as (
    select
        p.category,
        p.model,
        p.client_id,
        p.window_index,
        p.n_requests::bigint as n_requests,
        (p.n_intervals + b.n_intervals)::bigint as n_intervals,
        (p.sum_iat_us + b.sum_iat_us)::decimal(38, 0) as sum_iat_us,
        (p.sum_sq_iat_us + b.sum_sq_iat_us)::decimal(38, 0) as sum_sq_iat_us,
        (p.n_ties + b.n_ties)::bigint as n_ties,
        least(p.min_positive_iat_us, b.min_positive_iat_us) as min_positive_iat_us,
        p.first_us,
        p.last_us
    from part_sums as p
    inner join boundary_sums as b
        using (category, model, client_id, window_index)
)

select * from final
order by category, model, client_id, window_index
