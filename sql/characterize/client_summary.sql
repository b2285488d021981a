-- client_summary
-- grain:    one row per client_key
-- inputs:   char_requests
-- params:   (none)
-- Token sums are exact integers (hugeint), so that means do not depend on the order in which
-- parallel threads combine partial sums; percentiles are over successful requests.
select
    client_key,
    min(model_key) as model_key,
    count(*) as n_requests,
    count(*) filter (where is_success) as n_success,
    min(offset_us) as first_offset_us,
    max(offset_us) as last_offset_us,
    coalesce(sum(input_tokens::hugeint) filter (where is_success), 0) as input_tokens_sum,
    coalesce(sum(output_tokens::hugeint) filter (where is_success), 0) as output_tokens_sum,
    quantile_cont(input_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as input_quantiles,
    quantile_cont(output_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as output_quantiles
from char_requests
group by client_key
order by client_key
