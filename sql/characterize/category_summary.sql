-- category_summary
-- grain:    one row per category (language, multimodal, reason) with requests
-- inputs:   minute_counts, token_quantiles
-- params:   (none)
-- The per-category roll-up: the same counts and token statistics as model_summary, over every
-- request of the category's models.
with counts as (
    select
        category,
        count(distinct model) as n_models,
        count(distinct (model, client_id)) as n_clients,
        sum(n_requests)::bigint as n_requests,
        sum(n_success)::bigint as n_success,
        sum(input_tokens_sum)::hugeint as input_tokens_sum,
        sum(output_tokens_sum)::hugeint as output_tokens_sum
    from minute_counts
    group by category
)

select
    r.*,
    qi.quantiles as input_quantiles,
    qo.quantiles as output_quantiles
from counts as r
left join token_quantiles as qi
    on qi.level = 'category' and qi.category = r.category and qi.field = 'input_tokens'
left join token_quantiles as qo
    on qo.level = 'category' and qo.category = r.category and qo.field = 'output_tokens'
order by r.category
