-- rejected_rows
-- grain:    one row per record that failed a row check
-- inputs:   staged (one file's stg_requests output, in a Spark task)
-- params:   (none)
select * from staged where reject_reason is not null
