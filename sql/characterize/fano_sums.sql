-- fano_sums
-- grain:    one row per (model_key, client_key, scale_s); client_key -1 is the model's aggregate
-- inputs:   summary_fano_counts, clients
-- params:   (none)
-- The merged Fano sums (counts in consecutive bins of each scale from the model's first
-- arrival, over the whole bins before its last arrival, as fitting.workload.fano_factors
-- counts them), keyed by the run's numbering.
with models as (
    select distinct model_key, category, model from clients
)

select
    m.model_key,
    coalesce(c.client_key, -1) as client_key,
    f.scale_s,
    f.n_bins,
    f.sum_n,
    f.sum_n2
from summary_fano_counts as f
inner join models as m on f.category = m.category and f.model = m.model
left join clients as c
    on f.category = c.category and f.model = c.model and f.client_id = c.client_id
order by m.model_key, client_key, f.scale_s
