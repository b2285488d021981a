-- passed_rows
-- grain:    one row per record that passed the row checks (duplicates not yet removed)
-- inputs:   staged (one file's stg_requests output, in a Spark task)
-- params:   (none)
select * from staged where reject_reason is null
