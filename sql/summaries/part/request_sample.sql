-- request_sample
-- grain:    kind 'sample': the part's `sample_size` successful requests with the smallest
--           draws per (category, model) (more only when equal draws tie at the k-th, which
--           takes requests of the same identity); kind 'span': one row
--           per (category, model) with its requests, successes and first / last arrival in
--           the part, and the k and seed used
-- inputs:   part_requests
-- params:   sample_seed, sample_size
-- contract: servechar.summaries/2 request_sample. draw = hash of the request's natural
--           identity (category, model, client_id, arrival_us, request_id, input_tokens,
--           output_tokens) and sample_seed; equal draws (the same identity) are ordered by
--           arrival and the sampled values, so no row depends on threads or file order.
--           Bottom-k is nested (the k' < k smallest draws are those up to the k'-th) and
--           mergeable (the k smallest of a union are among the parts' k smallest). The k-th
--           smallest draw comes from a top-k aggregate: no sort of the part.
with drawn as (
    select
        category,
        model,
        arrival_us,
        input_tokens,
        output_tokens,
        reason_tokens,
        ttft_ms,
        e2e_ms,
        hash(
            category, model, client_id, arrival_us, request_id, input_tokens, output_tokens,
            $sample_seed
        ) as draw
    from part_requests
    where is_success
),

-- the k-th smallest draw of each model (all of them when it has fewer)
thresholds as (
    select category, model, list_max(min(draw, $sample_size)) as threshold
    from drawn
    group by category, model
),

sampled as (
    select
        'sample' as kind,
        d.category,
        d.model,
        d.draw,
        d.arrival_us,
        d.input_tokens,
        d.output_tokens,
        d.reason_tokens,
        d.ttft_ms,
        d.e2e_ms,
        null::bigint as n,
        null::bigint as n_success,
        null::bigint as first_us,
        null::bigint as last_us,
        null::bigint as sample_size,
        null::bigint as sample_seed
    from drawn as d
    inner join thresholds as t on d.category = t.category and d.model = t.model
    where d.draw <= t.threshold
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
        count(*) as n,
        count(*) filter (where is_success) as n_success,
        min(arrival_us) as first_us,
        max(arrival_us) as last_us,
        $sample_size::bigint as sample_size,
        $sample_seed::bigint as sample_seed
    from part_requests
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
