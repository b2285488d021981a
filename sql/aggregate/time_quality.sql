-- time_quality
-- grain:    one row per model: how finely and how evenly its arrivals are timed, and its
--           longest idle gaps
-- inputs:   requests
-- params:   origin_us, n_gaps
-- Gaps are between consecutive arrivals of the model (all clients together); ties are gaps
-- of 0; the quantiles are of the positive gaps. idle_gaps lists the n_gaps longest gaps,
-- longest first (equal lengths: earliest first), each starting at the earlier arrival, in
-- microseconds from the origin. The grid the timestamps sit on comes from time_grid.sql.
with gaps as (
    select
        model,
        arrival_us - $origin_us as offset_us,
        arrival_us - lag(arrival_us) over (partition by model order by arrival_us) as gap_us
    from requests
),

final as (
    select
        model,
        count(*) as n_requests,
        count(*) filter (where gap_us is null or gap_us > 0) as distinct_arrival_times,
        count(gap_us) as n_gaps,
        count(*) filter (where gap_us = 0) as n_ties,
        quantile_disc(gap_us, 0.05) filter (where gap_us > 0) as p05_positive_gap_us,
        quantile_disc(gap_us, 0.5) filter (where gap_us > 0) as median_positive_gap_us,
        min(offset_us) as first_offset_us,
        max(offset_us) as last_offset_us,
        -- offsets stay below 1e14 us (3 years; --max-span-days caps them), so the key orders
        -- by length, then by start, without ties
        arg_max(
            {'start_us': offset_us - gap_us, 'length_us': gap_us},
            gap_us::hugeint * 100000000000000 - offset_us,
            $n_gaps
        ) filter (where gap_us > 0) as idle_gaps
    from gaps
    group by model
)

select * from final order by model
