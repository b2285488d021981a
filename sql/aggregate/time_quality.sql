-- time_quality
-- grain:    one row per model: how finely and how evenly its arrivals are timed, and its
--           longest idle gaps
-- inputs:   summary_model_streams, summary_model_gaps
-- params:   origin_us
-- Gaps are between consecutive arrivals of the model (all clients together); ties are gaps
-- of 0; the quantiles are of the positive gaps, DuckDB's quantile_disc over the gaps taken
-- from the merged value -> count table without repeating each value n times (at 100M
-- requests that expansion held every gap in memory): the 1-based rank quantile_disc picks is
-- max(1, n - floor(n - n q)) (exact: n q in decimal), and the value at that rank is the
-- smallest one whose running count reaches it (fitting/quantiles.py does the same in
-- Python). idle_gaps lists the longest gaps, longest first (equal lengths: earliest first),
-- each starting at the earlier arrival, in microseconds from the origin. The grid the
-- timestamps sit on comes from time_grid.sql.
with positive as (
    select
        model,
        gap_us,
        sum(n) over (partition by model order by gap_us) as running_n,
        sum(n) over (partition by model) as n_positive
    from summary_model_gaps
    where gap_us > 0
),

quantiles as (
    select
        model,
        min(gap_us) filter (
            where running_n >= greatest(1, n_positive - floor(n_positive - n_positive * 0.05))
        ) as p05_positive_gap_us,
        min(gap_us) filter (
            where running_n >= greatest(1, n_positive - floor(n_positive - n_positive * 0.5))
        ) as median_positive_gap_us
    from positive
    group by model
),

gap_counts as (
    select
        model,
        sum(n)::bigint as n_gaps,
        coalesce(sum(n) filter (where gap_us = 0), 0)::bigint as n_ties
    from summary_model_gaps
    group by model
),

final as (
    select
        s.model,
        s.n_requests,
        s.n_requests - coalesce(g.n_ties, 0) as distinct_arrival_times,
        coalesce(g.n_gaps, 0) as n_gaps,
        coalesce(g.n_ties, 0) as n_ties,
        q.p05_positive_gap_us,
        q.median_positive_gap_us,
        s.first_us - $origin_us as first_offset_us,
        s.last_us - $origin_us as last_offset_us,
        list_transform(
            s.idle_gaps,
            lambda gap: {'start_us': gap.start_us - $origin_us, 'length_us': gap.length_us}
        ) as idle_gaps
    from summary_model_streams as s
    left join gap_counts as g on s.model = g.model
    left join quantiles as q on s.model = q.model
)

select * from final order by model
