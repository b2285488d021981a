-- fano_sums
-- grain:    one row per (model_key, client_key, scale_us); client_key -1 is the model's aggregate
-- inputs:   char_requests
-- params:   scales_us
-- Counts in consecutive bins of each scale from the model's first arrival on; only whole bins
-- before the model's last arrival count (as fitting.workload.fano_factors does). Only the
-- non-empty bins are formed: n_bins (every bin of the span) supplies the empty ones, so a
-- 1-second scale over a year never materialises 31 million rows.
with spans as (
    select
        model_key,
        min(offset_us) as first_us,
        max(offset_us) as last_us
    from char_requests
    group by model_key
),

scales as (
    select unnest($scales_us) as scale_us
),

binned as (
    select
        r.model_key,
        r.client_key,
        s.scale_us,
        (r.offset_us - p.first_us) // s.scale_us as bin_index,
        (p.last_us - p.first_us) // s.scale_us as n_bins
    from char_requests as r
    inner join spans as p on r.model_key = p.model_key
    cross join scales as s
),

client_bins as (
    select model_key, client_key, scale_us, bin_index, any_value(n_bins) as n_bins, count(*) as n
    from binned
    where bin_index < n_bins
    group by model_key, client_key, scale_us, bin_index
),

model_bins as (
    select model_key, -1 as client_key, scale_us, bin_index, any_value(n_bins) as n_bins, sum(n) as n
    from client_bins
    group by model_key, scale_us, bin_index
),

all_bins as (
    select * from client_bins
    union all
    select * from model_bins
)

select
    b.model_key,
    b.client_key,
    b.scale_us,
    (p.last_us - p.first_us) // b.scale_us as n_bins,
    sum(b.n::hugeint) as sum_n,
    sum(b.n::hugeint * b.n) as sum_n2
from all_bins as b
inner join spans as p on b.model_key = p.model_key
group by b.model_key, b.client_key, b.scale_us, p.first_us, p.last_us
order by b.model_key, b.client_key, b.scale_us
