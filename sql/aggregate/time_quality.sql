-- time_quality
-- grain:    one row per model: how finely and how evenly its arrivals are timed
-- inputs:   requests
-- params:   origin_us, tick_candidates_us
-- share_multiple[i] is the share of the model's arrivals whose offset from its first arrival
-- is a whole multiple of tick_candidates_us[i] (the timestamps' storage resolution shows as
-- the largest tick with a share near 1). Gaps are between consecutive arrivals of the model
-- (all clients together); ties are gaps of 0; the quantiles are of the positive gaps.
with arrivals as (
    select
        model,
        arrival_us - $origin_us as offset_us
    from requests
),

gaps as (
    select
        model,
        offset_us,
        offset_us - lag(offset_us) over (partition by model order by offset_us) as gap_us,
        offset_us - min(offset_us) over (partition by model) as from_first_us
    from arrivals
),

ticks as (
    select unnest($tick_candidates_us::bigint[]) as tick_us
),

shares as (
    select
        g.model,
        t.tick_us,
        (count(*) filter (where g.from_first_us % t.tick_us = 0))::double / count(*) as share
    from gaps as g
    cross join ticks as t
    group by g.model, t.tick_us
),

multiples as (
    select
        model,
        list(share order by tick_us) as share_multiple
    from shares
    group by model
),

summary as (
    select
        model,
        count(*) as n_requests,
        count(distinct offset_us) as distinct_arrival_times,
        count(gap_us) as n_gaps,
        count(*) filter (where gap_us = 0) as n_ties,
        quantile_disc(gap_us, 0.05) filter (where gap_us > 0) as p05_positive_gap_us,
        quantile_disc(gap_us, 0.5) filter (where gap_us > 0) as median_positive_gap_us,
        min(offset_us) as first_offset_us,
        max(offset_us) as last_offset_us
    from gaps
    group by model
),

final as (
    select
        s.*,
        m.share_multiple
    from summary as s
    inner join multiples as m on s.model = m.model
)

select * from final order by model
