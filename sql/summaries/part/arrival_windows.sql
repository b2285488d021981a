-- arrival_windows
-- grain:    one row per (category, model, client_id, window_index) with requests in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/1 (docs/summaries.md). Gaps are between consecutive arrivals
--           of a client in a trace window; sums are exact integers (HUGEINT microseconds), so
--           that parts merge to the same bytes as one pass. first_us/last_us let the merge add
--           the gap that a part boundary cuts.
with windowed as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $window_us as window_index,
        arrival_us
    from part_requests
),

gaps as (
    select
        category,
        model,
        client_id,
        window_index,
        arrival_us,
        arrival_us - lag(arrival_us) over (
            partition by category, model, client_id, window_index order by arrival_us
        ) as iat_us
    from windowed
),

final as (
    select
        category,
        model,
        client_id,
        window_index,
        count(*) as n_requests,
        count(iat_us) as n_intervals,
        coalesce(sum(iat_us::hugeint), 0)::decimal(38, 0) as sum_iat_us,
        coalesce(sum(iat_us::hugeint * iat_us::hugeint), 0)::decimal(38, 0) as sum_sq_iat_us,
        count(*) filter (where iat_us = 0) as n_ties,
        min(iat_us) filter (where iat_us > 0) as min_positive_iat_us,
        min(arrival_us) as first_us,
        max(arrival_us) as last_us
    from gaps
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
