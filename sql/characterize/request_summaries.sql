-- request_summaries
-- grain:    one row per client (level 'client'), per model ('model') and per category
--           ('category') with requests
-- inputs:   char_requests, clients
-- params:   (none)
-- One scan of the requests for all three levels (grouping sets) instead of one per level;
-- client_key fixes model_key and model_key fixes category, so each set is a plain roll-up.
-- Token sums are exact integers (hugeint), so that means do not depend on the order in which
-- parallel threads combine partial sums; percentiles are over successful requests.
with keyed as (
    select
        r.client_key,
        r.model_key,
        c.category,
        r.offset_us,
        r.is_success,
        r.input_tokens,
        r.output_tokens
    from char_requests as r
    inner join clients as c on r.client_key = c.client_key
)

select
    case
        when grouping(client_key) = 0 then 'client'
        when grouping(model_key) = 0 then 'model'
        else 'category'
    end as level,
    client_key,
    model_key,
    category,
    count(distinct model_key) as n_models,
    count(distinct client_key) as n_clients,
    count(*) as n_requests,
    count(*) filter (where is_success) as n_success,
    min(offset_us) as first_offset_us,
    max(offset_us) as last_offset_us,
    coalesce(sum(input_tokens::hugeint) filter (where is_success), 0) as input_tokens_sum,
    coalesce(sum(output_tokens::hugeint) filter (where is_success), 0) as output_tokens_sum,
    quantile_cont(input_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as input_quantiles,
    quantile_cont(output_tokens, [0.5, 0.9, 0.99]) filter (where is_success) as output_quantiles
from keyed
group by grouping sets ((category, model_key, client_key), (category, model_key), (category))
order by level, category, model_key, client_key
