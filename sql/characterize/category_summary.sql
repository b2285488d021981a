-- category_summary
-- grain:    one row per category (language, multimodal, reason) with requests
-- inputs:   char_requests, clients
-- params:   (none)
-- The per-category roll-up: the same counts and token statistics as model_summary, over every
-- request of the category's models (percentiles need the requests, hence a scan).
with model_category as (
    select distinct model_key, category from clients
)

select
    m.category,
    count(distinct r.model_key) as n_models,
    count(distinct r.client_key) as n_clients,
    count(*) as n_requests,
    count(*) filter (where r.is_success) as n_success,
    coalesce(sum(r.input_tokens::hugeint) filter (where r.is_success), 0) as input_tokens_sum,
    coalesce(sum(r.output_tokens::hugeint) filter (where r.is_success), 0) as output_tokens_sum,
    quantile_cont(r.input_tokens, [0.5, 0.9, 0.99]) filter (where r.is_success)
        as input_quantiles,
    quantile_cont(r.output_tokens, [0.5, 0.9, 0.99]) filter (where r.is_success)
        as output_quantiles
from char_requests as r
inner join model_category as m on r.model_key = m.model_key
group by m.category
order by m.category
