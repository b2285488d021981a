-- day_part
-- grain:    one row per accepted request that arrived in [start_us, end_us), in no particular
--           order
-- inputs:   accepted_requests (one file's, in a Spark task)
-- params:   start_us, end_us
-- One file's part of a day's file: the task that writes the day sorts all of its parts' rows
-- (ingest/request_day), so the part needs no order of its own.
select *
from accepted_requests
where arrival_us >= $start_us and arrival_us < $end_us
