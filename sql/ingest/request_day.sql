-- request_day
-- grain:    one row per accepted request that arrived in [start_us, end_us): one UTC day
-- inputs:   accepted_requests, request_keys
-- params:   start_us, end_us
-- contract: requests@2, one day's file. Sorted by model, client and arrival (client_order
--           numbers (model, client_id) in the strings' order); file_index and source_row
--           (input files numbered in path order) break ties, so that the file's bytes depend
--           neither on the thread count nor on the order the inputs were given.
select a.*
from accepted_requests as a
inner join request_keys as k
    on a.model is not distinct from k.model and a.client_id is not distinct from k.client_id
where a.arrival_us >= $start_us and a.arrival_us < $end_us
order by k.client_order, a.arrival_us, a.file_index, a.source_row
