-- request_sample
-- grain:    as the part: kind 'sample' (the `sample_size` smallest draws per (category,
--           model) of the union; k is the parts' sample_size) and kind 'span' per (category,
--           model)
-- inputs:   parts_request_sample
-- params:   (none)
-- contract: servechar.summaries/2 request_sample. The k smallest draws of a union are among
--           the parts' k smallest, so this equals one pass; spans add up (n, n_success) and
--           take the first and last arrival.
with samples as (
    select * from parts_request_sample where kind = 'sample'
),

k as (
    select max(sample_size) as sample_size from parts_request_sample where kind = 'span'
),

-- the k-th smallest draw of each model in the union (all of them when it has fewer). The
-- union holds at most k per part, so its sorted list is bounded; it costs less CPU than a
-- top-k aggregate of k
thresholds as (
    select
        s.category,
        s.model,
        case
            when count(*) <= any_value(k.sample_size) then max(s.draw)
            else list_sort(list(s.draw))[any_value(k.sample_size)]
        end as threshold
    from samples as s
    cross join k
    group by s.category, s.model
),

sampled as (
    select s.*
    from samples as s
    inner join thresholds as t on s.category = t.category and s.model = t.model
    where s.draw <= t.threshold
),

spans as (
    select
        'span' as kind,
        category,
        model,
        null::ubigint as draw,
        null::bigint as arrival_us,
        null::bigint as input_tokens,
        null::bigint as output_tokens,
        null::bigint as reason_tokens,
        null::double as ttft_ms,
        null::double as e2e_ms,
        sum(n)::bigint as n,
        sum(n_success)::bigint as n_success,
        min(first_us) as first_us,
        max(last_us) as last_us,
        max(sample_size) as sample_size,
        max(sample_seed) as sample_seed
    from parts_request_sample
    where kind = 'span'
    group by category, model
),

final as (
    select * from sampled
    union all
    select * from spans
)

select * from final
order by
    kind, category, model, draw, arrival_us, input_tokens, output_tokens, reason_tokens, ttft_ms,
    e2e_ms
