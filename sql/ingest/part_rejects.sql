-- part_rejects
-- grain:    one row per record of one file that failed a row check
-- inputs:   staged_part (the file's stg_requests output)
-- params:   (none)
select source_row from staged_part where reject_reason is not null
