-- status_counts
-- grain:    one row per (client_key, window_index, status) with requests; status NULL when
--           the log has no status for those requests
-- inputs:   char_requests
-- params:   window_us
-- Status codes per client and trace window, from which the per-model code table, the 429
-- (rate-limited) share over time and its relation to load follow.
select
    model_key,
    client_key,
    offset_us // $window_us as window_index,
    status,
    count(*) as n
from char_requests
group by model_key, client_key, window_index, status
order by model_key, client_key, window_index, status nulls first
