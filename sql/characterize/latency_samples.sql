-- latency_samples
-- grain:    one row per sampled successful request reporting ttft_ms or e2e_ms
-- inputs:   char_requests
-- params:   cap, seed
-- A deterministic sample (hash of the request's identity) of at most about `cap` requests per
-- model, for the least-squares latency model (statsmodels works in memory).
with timed as (
    select
        model_key,
        input_tokens,
        output_tokens,
        ttft_ms,
        e2e_ms,
        hash(model_key, client_key, offset_us, input_tokens, output_tokens, $seed) as draw,
        count(*) over (partition by model_key) as n
    from char_requests
    where is_success and (ttft_ms is not null or e2e_ms is not null)
)

select model_key, n, input_tokens, output_tokens, ttft_ms, e2e_ms
from timed
where n <= $cap or draw % n < $cap
order by model_key, input_tokens, output_tokens, ttft_ms, e2e_ms
