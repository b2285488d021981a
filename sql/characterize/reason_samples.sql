-- reason_samples
-- grain:    one row per sampled successful request with reason_tokens and output_tokens > 0
-- inputs:   char_requests
-- params:   cap, seed
-- A deterministic sample (hash of the request's identity, as in length_samples) of at most
-- about `cap` requests per model: reasoning and answer tokens.
with reasoned as (
    select
        model_key,
        reason_tokens,
        output_tokens - reason_tokens as answer_tokens,
        hash(model_key, client_key, offset_us, reason_tokens, output_tokens, $seed) as draw,
        count(*) over (partition by model_key) as n
    from char_requests
    where is_success and reason_tokens is not null and output_tokens > 0
)

select model_key, n, reason_tokens, answer_tokens
from reasoned
where n <= $cap or draw % n < $cap
order by model_key, reason_tokens, answer_tokens
