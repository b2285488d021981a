-- sample_spans
-- grain:    one row per (sample_size, sample_seed) the shared sample was drawn with
-- inputs:   summary_request_sample
-- params:   (none)
-- The shared sample's k and seed, and the most successful requests of a model: a model with
-- no more than k is in the sample whole, whatever the seed.
select
    sample_size,
    sample_seed,
    max(n_success) as largest_unit
from summary_request_sample
where kind = 'span'
group by sample_size, sample_seed
order by sample_size, sample_seed
