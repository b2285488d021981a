-- fano_counts
-- grain:    per (category, model, client_id, scale_s): the bins at the edges of the key's
--           requests in the part (bin_index, n) and one row of sums over the bins between
--           them (bin_index NULL); client_id NULL is the model's aggregate
-- inputs:   part_requests
-- params:   anchor_models, anchor_first_us
-- contract: servechar.summaries/2 fano_counts. Bins of 1 s, 10 s, 1 min, 10 min and 1 h (the
--           scales of stats.json's Fano curves, fixed by this contract) are counted from the
--           model's anchor (its first arrival in the whole log: the parallel lists
--           anchor_models, anchor_first_us). A bin strictly between a key's first
--           and last bin in the part lies wholly inside the part, so no other part adds to it:
--           its count and squared count are final and summed here. The first and last bins may
--           be cut by a part boundary and may hold the model's last arrival (excluded from the
--           Fano sums, which count whole bins only): they are kept as (bin_index, n) rows for
--           the merge to add up.
with anchors as (
    select unnest($anchor_models) as model, unnest($anchor_first_us) as anchor_us
),

scales as (
    select unnest([1, 10, 60, 600, 3600]::bigint[]) as scale_s
),

-- every scale is whole seconds from the same anchor: its bins are sums of 1-second bins
seconds as (
    select
        r.category,
        r.model,
        r.client_id,
        (r.arrival_us - a.anchor_us) // 1000000 as second_index,
        count(*) as n
    from part_requests as r
    inner join anchors as a on r.model = a.model
    group by r.category, r.model, r.client_id, second_index
),

client_bins as (
    select
        c.category,
        c.model,
        c.client_id,
        s.scale_s,
        c.second_index // s.scale_s as bin_index,
        sum(c.n)::bigint as n
    from seconds as c
    cross join scales as s
    group by c.category, c.model, c.client_id, s.scale_s, bin_index
),

model_bins as (
    select
        category,
        model,
        null::varchar as client_id,
        scale_s,
        bin_index,
        sum(n)::bigint as n
    from client_bins
    group by category, model, scale_s, bin_index
),

all_bins as (
    select * from client_bins
    union all
    select * from model_bins
),

per_key as (
    select
        category,
        model,
        client_id,
        scale_s,
        min(bin_index) as first_bin,
        max(bin_index) as last_bin,
        arg_min(n, bin_index) as first_n,
        arg_max(n, bin_index) as last_n,
        sum(n::hugeint) as total,
        sum(n::hugeint * n) as total_sq
    from all_bins
    group by category, model, client_id, scale_s
),

edges as (
    select category, model, client_id, scale_s, first_bin as bin_index, first_n as n
    from per_key
    union all
    select category, model, client_id, scale_s, last_bin as bin_index, last_n as n
    from per_key
    where last_bin <> first_bin
),

interior as (
    select
        category,
        model,
        client_id,
        scale_s,
        total - first_n - (case when last_bin <> first_bin then last_n else 0 end) as sum_n,
        total_sq - first_n * first_n
        - (case when last_bin <> first_bin then last_n * last_n else 0 end) as sum_n2
    from per_key
)

select
    category,
    model,
    client_id,
    scale_s,
    bin_index,
    n,
    null::decimal(38, 0) as sum_n,
    null::decimal(38, 0) as sum_n2
from edges
union all
select
    category,
    model,
    client_id,
    scale_s,
    null::bigint as bin_index,
    null::bigint as n,
    sum_n::decimal(38, 0) as sum_n,
    sum_n2::decimal(38, 0) as sum_n2
from interior
where sum_n > 0
order by category, model, client_id nulls first, scale_s, bin_index nulls first
