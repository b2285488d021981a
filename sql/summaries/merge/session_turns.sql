-- session_turns
-- grain:    as the part: kind 'session' per (category, model, session_id), kind 'gap' per
--           (category, model, gap_us)
-- inputs:   parts_session_turns
-- params:   (none)
-- contract: servechar.summaries/2 session_turns. A session's parts, in order of first_us
--           (parts are disjoint in time), add the boundary gap first_us - previous last_us to
--           the gap counts; turns are summed; first_us / last_us are the min and max. The
--           result has the part's schema and equals one pass over the union.
with sessions as (
    select * from parts_session_turns where kind = 'session'
),

boundary_gaps as (
    select
        category,
        model,
        first_us - lag(last_us) over (
            partition by category, model, session_id order by first_us
        ) as gap_us
    from sessions
),

merged_sessions as (
    select
        'session' as kind,
        category,
        model,
        session_id,
        null::bigint as gap_us,
        sum(n)::bigint as n,
        min(first_us) as first_us,
        max(last_us) as last_us
    from sessions
    group by category, model, session_id
),

all_gaps as (
    select category, model, gap_us, n from parts_session_turns where kind = 'gap'
    union all
    select category, model, gap_us, 1 as n from boundary_gaps where gap_us is not null
),

merged_gaps as (
    select
        'gap' as kind,
        category,
        model,
        null::varchar as session_id,
        gap_us,
        sum(n)::bigint as n,
        null::bigint as first_us,
        null::bigint as last_us
    from all_gaps
    group by category, model, gap_us
),

final as (
    select * from merged_sessions
    union all
    select * from merged_gaps
)

select * from final order by kind desc, category, model, session_id, gap_us
