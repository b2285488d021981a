-- duplicate_rows
-- grain:    one row per duplicate record of one file
-- inputs:   duplicates
-- params:   file_index
select source_row from duplicates where file_index = $file_index
