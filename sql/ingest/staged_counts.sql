-- staged_counts
-- grain:    one row per (input file, verdict of the row checks): accepted-so-far or a reason
-- inputs:   staged (stg_requests output: all files', or one file's on Spark)
-- params:   (none)
select file_index, coalesce(reject_reason, 'accepted') as verdict, count(*) as n_rows
from staged
group by file_index, verdict
