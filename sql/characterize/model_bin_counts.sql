-- model_bin_counts
-- grain:    one row per (model_key, bin_index) with at least one request
-- inputs:   summary_minute_counts, clients
-- params:   bin_minutes
-- Bins of bin_minutes minutes aligned to the origin (bin_index * bin_minutes * 60 s is the
-- bin's start), summed from the merged per-minute counts; empty bins are absent here and
-- filled with zeros by the caller.
select
    c.model_key,
    m.minute_index // $bin_minutes as bin_index,
    sum(m.n_requests)::bigint as n
from summary_minute_counts as m
inner join clients as c
    on m.category = c.category and m.model = c.model and m.client_id = c.client_id
group by c.model_key, bin_index
order by c.model_key, bin_index
