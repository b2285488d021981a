-- part_rejects
-- grain:    one row per record of one file that failed a row check
-- inputs:   staged (every file's stg_requests output so far)
-- params:   file_index
select source_row from staged where file_index = $file_index and reject_reason is not null
