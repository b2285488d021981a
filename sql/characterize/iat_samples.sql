-- iat_samples
-- grain:    one row per sampled inter-arrival time: level 'model' (the model's merged stream,
--           unit_key = model_key) or 'client' (a detailed client within its trace windows,
--           unit_key = client_key)
-- inputs:   summary_request_sample, clients, interarrivals, trace_windows, detailed_clients
-- params:   cap, seed
-- Model level: the `cap` requests of the model (successful or not) with the smallest draws of
-- the shared sample, each with the gap from the previous arrival of the model's stream (the
-- model's first request has none); n = the model's requests - 1. Client level: aggregate's
-- inter-arrival times of the detailed client's trace windows, kept when a hash of their
-- identity, modulo the client's count, falls below `cap` (every one when count <= cap).
-- Rows come unordered; the caller sorts each unit's values.
with models as (
    select distinct model_key, category, model from clients
),

spans as (
    select category, model, n from summary_request_sample where kind = 'span'
),

model_ranked as (
    select
        category,
        model,
        arrival_us - prev_arrival_us as iat_us,
        row_number() over (
            partition by category, model
            order by
                draw, arrival_us, client_id, request_id, input_tokens, output_tokens,
                reason_tokens, ttft_ms, e2e_ms, is_success
        ) as place
    from summary_request_sample
    where kind = 'sample'
),

model_rows as (
    select
        'model' as level,
        m.model_key as unit_key,
        s.n - 1 as n,
        r.iat_us / 1e6 as iat_s
    from model_ranked as r
    inner join spans as s on r.category = s.category and r.model = s.model
    inner join models as m on r.category = m.category and r.model = m.model
    where r.place <= $cap and r.iat_us is not null
),

client_rows as (
    select
        'client' as level,
        w.client_key as unit_key,
        i.iat_s,
        hash(i.window_key, i.iat_s, $seed) as draw,
        count(*) over (partition by w.client_key) as n
    from interarrivals as i
    inner join trace_windows as w on i.window_key = w.window_key
    inner join detailed_clients as d on w.client_key = d.client_key
)

select level, unit_key, n, iat_s from model_rows
union all
select level, unit_key, n, iat_s from client_rows
where n <= $cap or draw % n < $cap
