-- staged_parts
-- grain:    one row per record of the input files whose staged parts match $path
-- inputs:   the staged parts at $path (a file or a glob): stg_requests output, one part per
--           input file
-- params:   path
-- contract: a part written from a file read unnumbered (sources.py, `numbered=False`) holds
--           the file's records in the file's order with source_row NULL: a record's place in
--           its part is its number. Parts written with their numbers (rejected rows sent
--           back from Spark) keep them.
select
    * exclude (file_row_number)
    replace (coalesce(source_row, file_row_number + 1) as source_row)
from read_parquet($path, file_row_number = true)
