-- minute_counts
-- grain:    one row per (category, model, client_id, minute_index) with requests
-- inputs:   parts_minute_counts
-- params:   (none)
-- contract: servechar.summaries/2 minute_counts (same columns and types as a part). A minute
--           cut by a part boundary has a row in each part: counts and token sums add, the
--           first and last arrival are the minimum and the maximum.
select
    category,
    model,
    client_id,
    minute_index,
    sum(n_requests)::bigint as n_requests,
    sum(n_success)::bigint as n_success,
    sum(n_2xx)::bigint as n_2xx,
    sum(n_no_status)::bigint as n_no_status,
    sum(n_429)::bigint as n_429,
    sum(n_4xx_other)::bigint as n_4xx_other,
    sum(n_5xx)::bigint as n_5xx,
    sum(n_other)::bigint as n_other,
    sum(input_tokens_sum)::decimal(38, 0) as input_tokens_sum,
    sum(output_tokens_sum)::decimal(38, 0) as output_tokens_sum,
    min(first_us) as first_us,
    max(last_us) as last_us
from parts_minute_counts
group by category, model, client_id, minute_index
order by category, model, client_id, minute_index
