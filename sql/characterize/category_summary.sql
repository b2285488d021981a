-- category_summary
-- grain:    one row per category (language, multimodal, reason) with requests
-- inputs:   summary_minute_counts
-- params:   (none)
-- The per-category roll-up of the merged per-minute summary: the same counts and token sums as
-- model_summary, over every request of the category's models; the token percentiles come
-- from token_histograms.sql.
select
    category,
    count(distinct model) as n_models,
    count(distinct (model, client_id)) as n_clients,
    sum(n_requests)::bigint as n_requests,
    sum(n_success)::bigint as n_success,
    sum(input_tokens_sum)::hugeint as input_tokens_sum,
    sum(output_tokens_sum)::hugeint as output_tokens_sum
from summary_minute_counts
group by category
order by category
