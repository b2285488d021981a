-- read_parquet
-- grain:    one row per row of one Parquet file, in file order
-- inputs:   the file at $path
-- params:   path
select * from read_parquet($path)
