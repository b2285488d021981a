-- fano_counts
-- grain:    one row per (category, model, client_id, scale_s); client_id NULL is the model's
--           aggregate
-- inputs:   parts_fano_counts
-- params:   (none)
-- contract: servechar.summaries/2 fano_counts merged: n_bins, the number of whole bins of the
--           scale from the model's anchor to its last arrival (the last arrival's bin index,
--           that is the model's largest bin index), and sum_n / sum_n2, the sums of the
--           counts and squared counts over the bins before it. Edge bins of all parts are
--           added up per bin index first (a bin cut by a part boundary is one bin), then
--           squared; the parts' interior sums are final already.
with edges as (
    select category, model, client_id, scale_s, bin_index, sum(n) as n
    from parts_fano_counts
    where bin_index is not null
    group by category, model, client_id, scale_s, bin_index
),

spans as (
    select category, model, scale_s, max(bin_index) as n_bins
    from edges
    where client_id is null
    group by category, model, scale_s
),

edge_sums as (
    select
        e.category,
        e.model,
        e.client_id,
        e.scale_s,
        coalesce(sum(e.n::hugeint) filter (where e.bin_index < s.n_bins), 0) as sum_n,
        coalesce(sum(e.n::hugeint * e.n) filter (where e.bin_index < s.n_bins), 0) as sum_n2
    from edges as e
    inner join spans as s on e.category = s.category and e.model = s.model and e.scale_s = s.scale_s
    group by e.category, e.model, e.client_id, e.scale_s
),

interior_sums as (
    select
        category,
        model,
        client_id,
        scale_s,
        sum(sum_n) as sum_n,
        sum(sum_n2) as sum_n2
    from parts_fano_counts
    where bin_index is null
    group by category, model, client_id, scale_s
)

select
    e.category,
    e.model,
    e.client_id,
    e.scale_s,
    s.n_bins,
    (e.sum_n + coalesce(i.sum_n, 0))::decimal(38, 0) as sum_n,
    (e.sum_n2 + coalesce(i.sum_n2, 0))::decimal(38, 0) as sum_n2
from edge_sums as e
inner join spans as s on e.category = s.category and e.model = s.model and e.scale_s = s.scale_s
left join interior_sums as i
    on e.category = i.category
    and e.model = i.model
    and e.client_id is not distinct from i.client_id
    and e.scale_s = i.scale_s
order by e.category, e.model, e.client_id nulls first, e.scale_s
