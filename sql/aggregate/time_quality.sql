-- time_quality
-- grain:    one row per model: how finely and how evenly its arrivals are timed, and its
--           longest idle gaps
-- inputs:   summary_model_streams, summary_model_gaps
-- params:   origin_us
-- Gaps are between consecutive arrivals of the model (all clients together); ties are gaps
-- of 0; the quantiles are of the positive gaps: quantile_disc over the merged value -> count
-- table with each value repeated n times (exact; as cheap as over the gaps, since a value
-- repeats only where gaps tie). idle_gaps lists the longest gaps, longest
-- first (equal lengths: earliest first), each starting at the earlier arrival, in
-- microseconds from the origin. The grid the timestamps sit on comes from time_grid.sql.
with positive as (
    select g.model, g.gap_us
    from summary_model_gaps as g, range(g.n)
    where g.gap_us > 0
),

quantiles as (
    select
        model,
        quantile_disc(gap_us, 0.05) as p05_positive_gap_us,
        quantile_disc(gap_us, 0.5) as median_positive_gap_us
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
