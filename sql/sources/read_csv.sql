-- read_csv
-- grain:    one row per data record of one delimited file; every field as text
-- inputs:   the file at $path (plain, .gz or .zst)
-- params:   path, delim
-- Records that do not split into the header's fields go to DuckDB's reject_errors table
-- (store_rejects) instead of stopping the scan; ingest reports them as rejects.
select *
from read_csv(
    $path,
    header = true,
    all_varchar = true,
    delim = $delim,
    store_rejects = true,
    null_padding = false
)
