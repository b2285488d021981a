-- time_notes
-- grain:    one row per note on the run's timestamps: rows whose number looks like epoch ms,
--           us or ns (`likely_unit_ms`, ...) and ambiguous local times resolved by --ambiguous
-- inputs:   staged
-- params:   (none)
select 'likely_unit_' || likely_time_unit as note, count(*) as n_rows
from staged
where likely_time_unit is not null
group by likely_time_unit
union all
select 'ambiguous_resolved' as note, count(*) as n_rows
from staged
where is_resolved_ambiguous
order by note
