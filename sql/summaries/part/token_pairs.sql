-- token_pairs
-- grain:    one row per (category, model, client_id, input_tokens, output_tokens) over the
--           successful requests of the part
-- inputs:   part_requests
-- params:   (none)
-- contract: servechar.summaries/2 token_pairs. The joint value -> count table of input and
--           output tokens of successful requests: Pearson needs only sums, but Spearman needs
--           each request's pair of ranks, and ranks change as parts merge; from the joint
--           table the ranks and every rank moment follow exactly after the merge.
-- Nearly every request is a group of its own, so the requests are grouped and sorted by an
-- integer client key (numbered in the order of the client's strings) and the strings looked
-- up after: grouping and sorting on the three strings took twice the CPU.
with clients as (
    select
        category,
        model,
        client_id,
        (row_number() over (order by category, model, client_id))::integer as client_key
    from (select distinct category, model, client_id from part_requests)
),

names as (
    select
        list(
            {'category': category, 'model': model, 'client_id': client_id}
            order by client_key
        ) as by_key
    from clients
),

counts as (
    select
        c.client_key,
        r.input_tokens,
        r.output_tokens,
        count(*) as n
    from part_requests as r
    inner join clients as c
        on r.category = c.category and r.model = c.model and r.client_id = c.client_id
    where r.is_success
    group by c.client_key, r.input_tokens, r.output_tokens
)

select
    names.by_key[counts.client_key].category as category,
    names.by_key[counts.client_key].model as model,
    names.by_key[counts.client_key].client_id as client_id,
    counts.input_tokens,
    counts.output_tokens,
    counts.n
from counts
cross join names
-- values first: most rows differ in them, so the sort seldom compares the client key
order by counts.input_tokens, counts.output_tokens, counts.client_key
