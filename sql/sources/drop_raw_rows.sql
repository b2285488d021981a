-- drop_raw_rows
-- grain:    (statement) forget the previous file's materialised rows
-- inputs:   (none)
-- params:   (none)
drop table if exists raw_rows
