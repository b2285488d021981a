-- duplicate_raw_text
-- grain:    one row per duplicate record of one file, with its raw text
-- inputs:   source_rows (the file, read again), duplicates
-- params:   file_index
select
    d.file_index,
    d.source_row,
    s._raw_text as raw_text
from source_rows as s
inner join duplicates as d on s._source_row = d.source_row and d.file_index = $file_index
