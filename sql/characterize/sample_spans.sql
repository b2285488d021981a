-- sample_spans
-- grain:    one row per (sample_size, sample_seed) the shared sample was drawn with
-- inputs:   summary_request_sample
-- params:   (none)
-- The shared sample's k and seed, and the largest unit (model and success class) it samples:
-- a unit no larger than k is in the sample whole, whatever the seed.
select
    sample_size,
    sample_seed,
    max(greatest(n_success, n - n_success)) as largest_unit
from summary_request_sample
where kind = 'span'
group by sample_size, sample_seed
order by sample_size, sample_seed
