-- request_sample
-- grain:    as the part: kind 'sample' (the `sample_size` smallest draws per (category,
--           model, is_success) of the union; k is the parts' sample_size) and kind 'span'
--           per (category, model)
-- inputs:   parts_request_sample
-- params:   (none)
-- contract: servechar.summaries/1 request_sample. The k smallest draws of the union are among
--           the parts' k smallest, so this equals one pass. A part's first request of a model
--           (prev_arrival_us NULL, arrival_us = the part's first_us) gets the previous part's
--           last_us as its predecessor (parts are disjoint in time: order by first_us).
with spans as (
    select
        category,
        model,
        n,
        n_success,
        first_us,
        last_us,
        lag(last_us) over (partition by category, model order by first_us) as prev_last_us,
        sample_size,
        sample_seed
    from parts_request_sample
    where kind = 'span'
),

mended as (
    select
        s.category,
        s.model,
        s.client_id,
        s.request_id,
        s.arrival_us,
        case
            when s.prev_arrival_us is null and s.arrival_us = p.first_us then p.prev_last_us
            else s.prev_arrival_us
        end as prev_arrival_us,
        s.draw,
        s.is_success,
        s.input_tokens,
        s.output_tokens,
        s.reason_tokens,
        s.ttft_ms,
        s.e2e_ms
    from parts_request_sample as s
    left join spans as p
        on s.category = p.category and s.model = p.model and s.arrival_us = p.first_us
    where s.kind = 'sample'
),

sampled as (
    select
        'sample' as kind,
        *,
        null::bigint as n,
        null::bigint as n_success,
        null::bigint as first_us,
        null::bigint as last_us,
        null::bigint as sample_size,
        null::bigint as sample_seed
    from mended
    qualify row_number() over (
        partition by category, model, is_success
        order by
            draw, arrival_us, client_id, request_id, input_tokens, output_tokens,
            reason_tokens, ttft_ms, e2e_ms
    ) <= (select max(sample_size) from spans)
),

merged_spans as (
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
        sum(n)::bigint as n,
        sum(n_success)::bigint as n_success,
        min(first_us) as first_us,
        max(last_us) as last_us,
        max(sample_size) as sample_size,
        max(sample_seed) as sample_seed
    from spans
    group by category, model
),

final as (
    select * from sampled
    union all
    select * from merged_spans
)

select * from final
order by kind, category, model, is_success, draw, arrival_us, client_id, request_id
