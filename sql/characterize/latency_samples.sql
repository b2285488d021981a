-- latency_samples
-- grain:    one row per sampled successful request reporting ttft_ms or e2e_ms
-- inputs:   summary_request_sample, clients
-- params:   cap
-- Of the `cap` successful requests of each model with the smallest draws of the shared sample,
-- those that report a latency, for the least-squares latency model (statsmodels works in
-- memory).
with models as (
    select distinct model_key, category, model from clients
),

ranked as (
    select
        category,
        model,
        input_tokens,
        output_tokens,
        ttft_ms,
        e2e_ms,
        row_number() over (
            partition by category, model
            order by
                draw, arrival_us, client_id, request_id, input_tokens, output_tokens,
                reason_tokens, ttft_ms, e2e_ms
        ) as place
    from summary_request_sample
    where kind = 'sample' and is_success
)

select m.model_key, r.input_tokens, r.output_tokens, r.ttft_ms, r.e2e_ms
from ranked as r
inner join models as m on r.category = m.category and r.model = m.model
where r.place <= $cap and (r.ttft_ms is not null or r.e2e_ms is not null)
order by m.model_key, r.input_tokens, r.output_tokens, r.ttft_ms, r.e2e_ms
