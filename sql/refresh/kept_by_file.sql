-- kept_by_file
-- grain:    one row per input file (store-wide file_index) with requests in one day's file
-- inputs:   day_file (one stored day's rows)
-- params:   (none)
-- The row account of a day: how many of each file's accepted rows the day keeps.
select file_index, count(*) as n_kept from day_file group by file_index order by file_index
