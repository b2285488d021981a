-- request_sample
-- grain:    kind 'sample': the part's `sample_size` requests with the smallest draws per
--           (category, model, is_success); kind 'span': one row per (category, model) with
--           its requests, successes and first / last arrival in the part, and the k and
--           seed used
-- inputs:   part_requests
-- params:   sample_seed, sample_size
-- contract: servechar.summaries/1 request_sample. draw = hash of the request's natural
--           identity (category, model, client_id, arrival_us, request_id, input_tokens,
--           output_tokens) and sample_seed; ties are broken by the remaining columns, so the
--           order is total and no row depends on threads or file order. Bottom-k is nested
--           (the k' < k smallest draws are a prefix) and mergeable (the k smallest of a union
--           are among the parts' k smallest). prev_arrival_us is the arrival before this one
--           in the model's stream (all requests, ordered by arrival then the same ties), NULL
--           for the part's first: the merge mends it from the previous part's last_us.
with drawn as (
    select
        category,
        model,
        client_id,
        request_id,
        arrival_us,
        is_success,
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
),

streamed as (
    select
        *,
        lag(arrival_us) over (
            partition by category, model
            order by
                arrival_us, draw, client_id, request_id, input_tokens, output_tokens,
                reason_tokens, ttft_ms, e2e_ms, is_success
        ) as prev_arrival_us
    from drawn
),

sampled as (
    select
        'sample' as kind,
        category,
        model,
        client_id,
        request_id,
        arrival_us,
        prev_arrival_us,
        draw,
        is_success,
        input_tokens,
        output_tokens,
        reason_tokens,
        ttft_ms,
        e2e_ms,
        null::bigint as n,
        null::bigint as n_success,
        null::bigint as first_us,
        null::bigint as last_us,
        null::bigint as sample_size,
        null::bigint as sample_seed
    from streamed
    qualify row_number() over (
        partition by category, model, is_success
        order by
            draw, arrival_us, client_id, request_id, input_tokens, output_tokens,
            reason_tokens, ttft_ms, e2e_ms
    ) <= $sample_size
),

spans as (
    select
        'span' as kind,
        category,
        model,
        null::varchar as client_id,
        null::varchar as request_id,
        null::bigint as arrival_us,
        null::bigint as prev_arrival_us,
        null::ubigint as draw,
        null::boolean as is_success,
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
)

select * from sampled
union all
select * from spans
