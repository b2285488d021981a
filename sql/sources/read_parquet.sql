-- read_parquet
-- grain:    one row per row of one Parquet file, with its 0-based row number
-- inputs:   the file at $path
-- params:   path
select * from read_parquet($path, file_row_number = true)
