-- sample_thresholds
-- grain:    one row per (category, model) with sampled successful requests
-- inputs:   summary_request_sample
-- params:   cap
-- The cap-th smallest draw of each model's shared sample (its largest draw when it holds no
-- more than `cap`): the sample statistics take the requests up to it, a prefix of the
-- bottom-k. Computed once (a top-k aggregate, no sort) for every query that reads the sample.
select category, model, list_max(min(draw, $cap)) as threshold
from summary_request_sample
where kind = 'sample'
group by category, model
order by category, model
