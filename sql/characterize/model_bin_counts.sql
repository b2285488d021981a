-- model_bin_counts
-- grain:    one row per (model_key, bin_index) with at least one request
-- inputs:   char_requests
-- params:   bin_us
-- Bins are aligned to the origin (bin_index * bin_us is the bin's start); empty bins are
-- absent here and filled with zeros by the caller.
select
    model_key,
    offset_us // $bin_us as bin_index,
    count(*) as n
from char_requests
group by model_key, bin_index
order by model_key, bin_index
