-- create_raw_texts
-- grain:    (statement) the table that collects the raw text of rejected records
-- inputs:   (none)
-- params:   (none)
create or replace table raw_texts (
    file_index integer,
    source_row bigint,
    raw_text varchar
)
