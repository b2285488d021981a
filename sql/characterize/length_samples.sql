-- length_samples
-- grain:    one row per sampled successful request of a model
-- inputs:   char_requests
-- params:   cap, seed
-- A deterministic sample of at most about `cap` successful requests per model (hash of the
-- request's identity modulo the model's count below `cap`), independent of the thread count.
-- Rows come unordered; the caller sorts each model's values.
with successes as (
    select
        model_key,
        input_tokens,
        output_tokens,
        hash(model_key, client_key, offset_us, input_tokens, output_tokens, $seed) as draw,
        count(*) over (partition by model_key) as n
    from char_requests
    where is_success
)

select model_key, n, input_tokens, output_tokens
from successes
where n <= $cap or draw % n < $cap
