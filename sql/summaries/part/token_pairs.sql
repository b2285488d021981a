-- token_pairs
-- grain:    one row per (category, model, client_id, input_tokens, output_tokens) over the
--           successful requests of the part
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/1 token_pairs. The joint value -> count table of input and
--           output tokens of successful requests: Pearson needs only sums, but Spearman needs
--           each request's pair of ranks, and ranks change as parts merge; from the joint
--           table the ranks and every rank moment follow exactly after the merge.
select
    category,
    model,
    client_id,
    input_tokens,
    output_tokens,
    count(*) as n
from part_requests
where is_success
group by category, model, client_id, input_tokens, output_tokens
-- values first: most rows differ in them, so the sort seldom compares the key's strings
order by input_tokens, output_tokens, category, model, client_id
