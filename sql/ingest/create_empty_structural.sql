-- create_empty_structural
-- grain:    (statement) an empty structural-rejects table, for runs with only Parquet inputs
-- inputs:   (none)
-- params:   (none)
create or replace table structural (
    file_index integer,
    line bigint,
    reject_reason varchar,
    reject_detail varchar,
    raw_text varchar,
    is_invalid_encoding boolean
)
