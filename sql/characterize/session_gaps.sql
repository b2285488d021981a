-- session_gaps
-- grain:    one row per model_key with sessions
-- inputs:   char_requests
-- params:   (none)
-- Sessions, turns per session and time between consecutive turns of a session: counts,
-- exact sums and percentiles.
with turns as (
    select
        model_key,
        session_id,
        offset_us - lag(offset_us) over (
            partition by model_key, session_id order by offset_us
        ) as gap_us
    from char_requests
    where session_id is not null
),

per_session as (
    select model_key, session_id, count(*) as n_turns
    from turns
    group by model_key, session_id
),

gaps as (
    select
        model_key,
        count(gap_us) as n_gaps,
        sum(gap_us::hugeint) as gap_us_sum,
        quantile_cont(gap_us / 1e6, [0.5, 0.9, 0.99]) as gap_quantiles
    from turns
    group by model_key
),

sessions as (
    select
        model_key,
        count(*) as n_sessions,
        sum(n_turns) as n_turns_sum,
        quantile_cont(n_turns, [0.5, 0.9, 0.99]) as turn_quantiles
    from per_session
    group by model_key
)

select s.*, g.n_gaps, g.gap_us_sum, g.gap_quantiles
from sessions as s
inner join gaps as g on s.model_key = g.model_key
order by s.model_key
