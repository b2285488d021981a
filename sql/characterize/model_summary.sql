-- model_summary
-- grain:    one row per model_key
-- inputs:   client_summary
-- params:   (none)
-- Counts, span and exact token sums (successful requests) of each model: the roll-up of
-- client_summary (integer sums, min and max, so exactly what the per-minute summary gives);
-- the token percentiles come from token_histograms.sql.
select
    model_key,
    sum(n_requests)::bigint as n_requests,
    sum(n_success)::bigint as n_success,
    min(first_offset_us) as first_offset_us,
    max(last_offset_us) as last_offset_us,
    sum(input_tokens_sum)::hugeint as input_tokens_sum,
    sum(output_tokens_sum)::hugeint as output_tokens_sum
from client_summary
group by model_key
order by model_key
