-- model_summary
-- grain:    one row per model_key
-- inputs:   minute_counts, clients, token_quantiles
-- params:   origin_us
-- From the merged per-minute summary and the token percentiles of the model's exact value
-- table (the union of its clients' tables).
with counts as (
    select
        c.model_key,
        sum(m.n_requests)::bigint as n_requests,
        sum(m.n_success)::bigint as n_success,
        min(m.first_us) - $origin_us as first_offset_us,
        max(m.last_us) - $origin_us as last_offset_us,
        sum(m.input_tokens_sum)::hugeint as input_tokens_sum,
        sum(m.output_tokens_sum)::hugeint as output_tokens_sum
    from minute_counts as m
    inner join clients as c
        on m.category = c.category and m.model = c.model and m.client_id = c.client_id
    group by c.model_key
)

select
    r.*,
    qi.quantiles as input_quantiles,
    qo.quantiles as output_quantiles
from counts as r
left join token_quantiles as qi
    on qi.level = 'model' and qi.unit_key = r.model_key and qi.field = 'input_tokens'
left join token_quantiles as qo
    on qo.level = 'model' and qo.unit_key = r.model_key and qo.field = 'output_tokens'
order by r.model_key
