-- requests_before
-- grain:    one row per request of one day of the request table that arrived before until_us
-- inputs:   day_requests (one day's file of the request table)
-- params:   until_us
-- contract: requests@2, unchanged: the training part of a held-out split, in the file's
--           order (a filter keeps the day's sort).
select * from day_requests where arrival_us < $until_us
