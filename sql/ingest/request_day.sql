-- request_day
-- grain:    one row per accepted request that arrived in [start_us, end_us): one UTC day
-- inputs:   accepted_requests
-- params:   start_us, end_us
-- contract: requests@2, one day's file. Sorted by model, client and arrival; file_index and
--           source_row (input files numbered in path order) break ties, so that the file's
--           bytes depend neither on the thread count nor on the order the inputs were given.
select *
from accepted_requests
where arrival_us >= $start_us and arrival_us < $end_us
order by model, client_id, arrival_us, file_index, source_row
