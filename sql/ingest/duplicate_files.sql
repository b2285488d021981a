-- duplicate_files
-- grain:    one row per input file that holds at least one duplicate
-- inputs:   duplicates
-- params:   (none)
select distinct file_index from duplicates order by file_index
