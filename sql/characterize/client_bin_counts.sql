-- client_bin_counts
-- grain:    one row per (detailed client, bin_index) with at least one request
-- inputs:   char_requests, detailed_clients
-- params:   bin_us
-- Per-client counts in origin-aligned bins, only for the clients shown in detail; empty bins
-- are absent and filled with zeros by the caller.
select
    r.client_key,
    r.offset_us // $bin_us as bin_index,
    count(*) as n
from char_requests as r
inner join detailed_clients as d on r.client_key = d.client_key
group by r.client_key, bin_index
order by r.client_key, bin_index
