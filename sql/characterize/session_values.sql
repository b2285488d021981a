-- session_values
-- grain:    one row per (model_key, field, value): field 'turns' (value = turns of a session,
--           n = sessions with that many) or 'gap_us' (value = microseconds between consecutive
--           turns of a session, n = how many)
-- inputs:   summary_session_turns, clients
-- params:   (none)
-- The merged session summary (topic session_turns) as value -> count tables per model.
with models as (
    select distinct model_key, category, model from clients
),

long_form as (
    select category, model, 'turns' as field, n as value, 1 as n
    from summary_session_turns
    where kind = 'session'
    union all
    select category, model, 'gap_us' as field, gap_us as value, n
    from summary_session_turns
    where kind = 'gap'
)

select m.model_key, f.field, f.value, sum(f.n)::bigint as n
from long_form as f
inner join models as m on f.category = m.category and f.model = m.model
group by m.model_key, f.field, f.value
order by m.model_key, f.field, f.value
