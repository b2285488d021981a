-- part_requests
-- grain:    one row per accepted request arriving in [start_us, end_us): one part's requests
-- inputs:   requests
-- params:   start_us, end_us
-- The one read of a part; every sql/summaries/part/<topic>.sql reads its result.
select * from requests
where arrival_us >= $start_us and arrival_us < $end_us
