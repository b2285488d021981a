-- client_bin_counts
-- grain:    one row per (detailed client, bin_index) with at least one request
-- inputs:   summary_minute_counts, clients, detailed_clients
-- params:   bin_minutes
-- Per-client counts in origin-aligned bins of bin_minutes minutes, only for the clients shown
-- in detail, summed from the merged per-minute counts; empty bins are absent and filled with
-- zeros by the caller.
select
    c.client_key,
    m.minute_index // $bin_minutes as bin_index,
    sum(m.n_requests)::bigint as n
from summary_minute_counts as m
inner join clients as c
    on m.category = c.category and m.model = c.model and m.client_id = c.client_id
inner join detailed_clients as d on c.client_key = d.client_key
group by c.client_key, bin_index
order by c.client_key, bin_index
