-- reasoning
-- grain:    one row per model_key whose successful requests carry reason_tokens
-- inputs:   char_requests
-- params:   (none)
-- Reasoning tokens and the reasoning ratio (reason_tokens / output_tokens, requests with
-- output), with exact sums for the means.
select
    model_key,
    count(*) as n,
    sum(reason_tokens::hugeint) as reason_tokens_sum,
    quantile_cont(reason_tokens, [0.5, 0.9, 0.99]) as reason_quantiles,
    count(*) filter (where output_tokens > 0) as n_ratio,
    quantile_cont(reason_tokens / output_tokens, [0.5, 0.9, 0.99])
        filter (where output_tokens > 0) as ratio_quantiles
from char_requests
where is_success and reason_tokens is not null
group by model_key
order by model_key
