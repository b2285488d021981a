-- request_sample
-- grain:    as the part: kind 'sample' (the `sample_size` smallest draws per (category,
--           model) of the union, ranked again; k is the parts' sample_size) and kind 'span'
--           per (category, model)
-- inputs:   parts_request_sample
-- params:   (none)
-- contract: servechar.summaries/1 request_sample. The k smallest draws of a union are among
--           the parts' k smallest, so this equals one pass; spans add up (n, n_success) and
--           take the first and last arrival.
with ranked as (
    select
        category,
        model,
        row_number() over (
            partition by category, model
            order by
                draw, arrival_us, input_tokens, output_tokens, reason_tokens, ttft_ms, e2e_ms
        ) as union_rank,  -- the parts' own sample_rank is per part
        draw,
        arrival_us,
        input_tokens,
        output_tokens,
        reason_tokens,
        ttft_ms,
        e2e_ms
    from parts_request_sample
    where kind = 'sample'
),

sampled as (
    select
        'sample' as kind,
        category,
        model,
        union_rank as sample_rank,
        draw,
        arrival_us,
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
    from ranked
    where union_rank <= (
        select max(sample_size) from parts_request_sample where kind = 'span'
    )
),

spans as (
    select
        'span' as kind,
        category,
        model,
        null::bigint as sample_rank,
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
order by kind, category, model, sample_rank
