-- length_samples
-- grain:    one row per sampled successful request of a model
-- inputs:   summary_request_sample, clients
-- params:   cap
-- The `cap` successful requests of each model with the smallest draws of the shared sample
-- (summaries topic request_sample; a prefix of its bottom-k, so no scan of the requests),
-- and the model's successful requests in total. Rows come unordered; the caller sorts each
-- model's values.
with models as (
    select distinct model_key, category, model from clients
),

spans as (
    select category, model, n_success from summary_request_sample where kind = 'span'
),

ranked as (
    select
        category,
        model,
        input_tokens,
        output_tokens,
        row_number() over (
            partition by category, model
            order by
                draw, arrival_us, client_id, request_id, input_tokens, output_tokens,
                reason_tokens, ttft_ms, e2e_ms
        ) as place
    from summary_request_sample
    where kind = 'sample' and is_success
)

select m.model_key, s.n_success as n, r.input_tokens, r.output_tokens
from ranked as r
inner join spans as s on r.category = s.category and r.model = s.model
inner join models as m on r.category = m.category and r.model = m.model
where r.place <= $cap
