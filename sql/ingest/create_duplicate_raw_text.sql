-- create_duplicate_raw_text
-- grain:    (statement) the table that collects duplicates' raw text, file by file
-- inputs:   (none)
-- params:   (none)
create or replace table duplicate_raw_text (
    file_index integer,
    source_row bigint,
    raw_text varchar
)
