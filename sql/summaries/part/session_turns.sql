-- session_turns
-- grain:    kind 'session': one row per (category, model, session_id) with turns in the part
--           (n = its turns, first_us / last_us = its first and last arrival);
--           kind 'gap': one row per (category, model, gap_us) of the time between consecutive
--           turns of a session inside the part (n = how many)
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/2 session_turns. A session's stream is cut by the part's
--           boundaries: the gap from its last turn in one part to its first in the next is
--           added by the merge from first_us / last_us (SPINE: boundary-cut streams).
with turns as (
    select
        category,
        model,
        session_id,
        arrival_us,
        arrival_us - lag(arrival_us) over (
            partition by category, model, session_id order by arrival_us
        ) as gap_us
    from part_requests
    where session_id is not null
),

sessions as (
    select
        'session' as kind,
        category,
        model,
        session_id,
        null::bigint as gap_us,
        count(*) as n,
        min(arrival_us) as first_us,
        max(arrival_us) as last_us
    from turns
    group by category, model, session_id
),

gaps as (
    select
        'gap' as kind,
        category,
        model,
        null::varchar as session_id,
        gap_us,
        count(*) as n,
        null::bigint as first_us,
        null::bigint as last_us
    from turns
    where gap_us is not null
    group by category, model, gap_us
),

final as (
    select * from sessions
    union all
    select * from gaps
)

select * from final order by kind desc, category, model, session_id, gap_us
