-- fano_counts
-- grain:    per (category, model, client_id, scale_s): the bins at the edges of the key's
--           requests in the part (bin_index, n) and one row of sums over the bins between
--           them (bin_index NULL); client_id NULL is the model's aggregate
-- inputs:   part_requests
-- params:   anchor_models, anchor_first_us
-- contract: servechar.summaries/1 fano_counts. Bins of 1 s, 10 s, 1 min, 10 min and 1 h (the
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
    select unnest([1, 10, 60, 600, 3600]::bigint[]) * 1000000 as scale_us
),

client_bins as (
    select
        r.category,
        r.model,
        r.client_id,
        s.scale_us,
        (r.arrival_us - a.anchor_us) // s.scale_us as bin_index,
        count(*) as n
    from part_requests as r
    inner join anchors as a on r.model = a.model
    cross join scales as s
    group by r.category, r.model, r.client_id, s.scale_us, bin_index
),

model_bins as (
    select
        category,
        model,
        null::varchar as client_id,
        scale_us,
        bin_index,
        sum(n)::bigint as n
    from client_bins
    group by category, model, scale_us, bin_index
),

all_bins as (
    select * from client_bins
    union all
    select * from model_bins
),

marked as (
    select
        *,
        bin_index = min(bin_index) over keyed or bin_index = max(bin_index) over keyed as is_edge
    from all_bins
    window keyed as (partition by category, model, client_id, scale_us)
),

edges as (
    select
        category,
        model,
        client_id,
        scale_us // 1000000 as scale_s,
        bin_index,
        n,
        null::decimal(38, 0) as sum_n,
        null::decimal(38, 0) as sum_n2
    from marked
    where is_edge
),

interior as (
    select
        category,
        model,
        client_id,
        scale_us // 1000000 as scale_s,
        null::bigint as bin_index,
        null::bigint as n,
        sum(n::hugeint)::decimal(38, 0) as sum_n,
        sum(n::hugeint * n)::decimal(38, 0) as sum_n2
    from marked
    where not is_edge
    group by category, model, client_id, scale_us
)

select * from edges
union all
select * from interior
order by category, model, client_id nulls first, scale_s, bin_index nulls first
