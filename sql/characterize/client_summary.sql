-- client_summary
-- grain:    one row per client_key
-- inputs:   summary_minute_counts, clients
-- params:   origin_us
-- Counts, span and exact token sums (successful requests) of each client, from the merged
-- per-minute summary; the token percentiles come from token_histograms.sql.
select
    c.client_key,
    any_value(c.model_key) as model_key,
    sum(m.n_requests)::bigint as n_requests,
    sum(m.n_success)::bigint as n_success,
    min(m.first_us) - $origin_us as first_offset_us,
    max(m.last_us) - $origin_us as last_offset_us,
    sum(m.input_tokens_sum)::hugeint as input_tokens_sum,
    sum(m.output_tokens_sum)::hugeint as output_tokens_sum
from summary_minute_counts as m
inner join clients as c
    on m.category = c.category and m.model = c.model and m.client_id = c.client_id
group by c.client_key
order by c.client_key
