-- duplicates_with_raw_text
-- grain:    one row per duplicate record
-- inputs:   duplicates_found, duplicate_raw_text
-- params:   (none)
select
    d.file_index,
    d.source_row,
    d.request_id,
    r.raw_text
from duplicates_found as d
left join duplicate_raw_text as r
    on d.file_index = r.file_index and d.source_row = r.source_row
order by d.file_index, d.source_row
