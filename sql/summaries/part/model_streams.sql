-- model_streams
-- grain:    one row per model with requests in the part
-- inputs:   part_requests
-- params:   n_gaps
-- contract: servechar.summaries/2. The model's arrivals (all clients together): count, first
--           and last arrival, and its n_gaps longest gaps between consecutive arrivals, longest
--           first (equal lengths: earliest first), each {start_us: the earlier arrival (epoch
--           us), length_us}. The gap values themselves are in model_gaps.
with gaps as (
    select
        model,
        arrival_us,
        arrival_us - lag(arrival_us) over (partition by model order by arrival_us) as gap_us
    from part_requests
),

final as (
    select
        model,
        count(*) as n_requests,
        min(arrival_us) as first_us,
        max(arrival_us) as last_us,
        -- arrivals stay below 1e17 us (year 5138), so the key orders by length, then by
        -- start, without ties
        arg_max(
            {'start_us': arrival_us - gap_us, 'length_us': gap_us},
            gap_us::hugeint * 100000000000000000 - arrival_us,
            $n_gaps
        ) filter (where gap_us > 0) as idle_gaps
    from gaps
    group by model
)

select * from final
order by model
