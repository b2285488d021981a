-- token_pairs
-- grain:    one row per (category, model, client_id, input_tokens, output_tokens)
-- inputs:   parts_token_pairs
-- params:   (none)
-- contract: servechar.summaries/2 token_pairs (same columns as a part): counts add.
select
    category,
    model,
    client_id,
    input_tokens,
    output_tokens,
    sum(n)::bigint as n
from parts_token_pairs
group by category, model, client_id, input_tokens, output_tokens
-- values first: most rows differ in them, so the sort seldom compares the key's strings
order by input_tokens, output_tokens, category, model, client_id
