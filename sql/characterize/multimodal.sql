-- multimodal
-- grain:    one row per (model_key, period_index) with successful requests, by period
-- inputs:   summary_modality_mix, clients
-- params:   (none)
-- The merged modality mix (topic modality_mix): requests carrying each modality, its items and
-- tokens (exact sums), and the text tokens, per dataset window of the run's origin.
with models as (
    select distinct model_key, category, model from clients
)

select m.model_key, x.* exclude (category, model)
from summary_modality_mix as x
inner join models as m on x.category = m.category and x.model = m.model
order by m.model_key, x.period_index
