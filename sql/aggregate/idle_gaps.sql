-- idle_gaps
-- grain:    one row per (model, one of its n_gaps longest gaps between consecutive arrivals)
-- inputs:   requests
-- params:   origin_us, n_gaps
-- A gap is measured between consecutive arrivals of the model (all clients together), and
-- starts at the earlier arrival; offsets are from the origin.
with gaps as (
    select
        model,
        lag(arrival_us) over (partition by model order by arrival_us) - $origin_us as start_us,
        arrival_us - lag(arrival_us) over (partition by model order by arrival_us) as length_us
    from requests
),

ranked as (
    select
        *,
        row_number() over (partition by model order by length_us desc, start_us) as gap_rank
    from gaps
    where length_us > 0
)

select model, gap_rank, start_us, length_us
from ranked
where gap_rank <= $n_gaps
order by model, gap_rank
