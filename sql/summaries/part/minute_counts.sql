-- minute_counts
-- grain:    one row per (category, model, client_id, minute_index) with requests in the part
-- inputs:   part_requests
-- params:   origin_us
-- contract: servechar.summaries/2 minute_counts. minute_index counts whole minutes from the
--           origin ((arrival_us - origin_us) // 60 s), so every origin-aligned bin that is a
--           multiple of a minute (hours, rate bins, days) is a sum of minute rows. Status
--           classes partition n_requests: 2xx, no status, 429, other 4xx, 5xx, other (1xx,
--           3xx, anything else); n_success = n_2xx + n_no_status. Token sums are exact
--           integers (DECIMAL(38, 0): Parquet has no 128-bit integer) over the
--           successful requests (2xx or no status), the requests every
--           token statistic counts. first_us/last_us are the minute's first and last arrival.
select
    category,
    model,
    client_id,
    (arrival_us - $origin_us) // 60000000 as minute_index,
    count(*) as n_requests,
    count(*) filter (where is_success) as n_success,
    count(*) filter (where status between 200 and 299) as n_2xx,
    count(*) filter (where status is null) as n_no_status,
    count(*) filter (where status = 429) as n_429,
    count(*) filter (where status between 400 and 499 and status <> 429) as n_4xx_other,
    count(*) filter (where status between 500 and 599) as n_5xx,
    count(*) filter (
        where status is not null and not (status between 200 and 299)
        and not (status between 400 and 599)
    ) as n_other,
    coalesce(sum(input_tokens::hugeint) filter (where is_success), 0)::decimal(38, 0)
        as input_tokens_sum,
    coalesce(sum(output_tokens::hugeint) filter (where is_success), 0)::decimal(38, 0)
        as output_tokens_sum,
    min(arrival_us) as first_us,
    max(arrival_us) as last_us
from part_requests
group by category, model, client_id, minute_index
order by category, model, client_id, minute_index
