-- iat_samples
-- grain:    one row per sampled inter-arrival time: level 'model' (the model's merged stream,
--           unit_key = model_key) or 'client' (a detailed client within its trace windows,
--           unit_key = client_key)
-- inputs:   char_requests, interarrivals, trace_windows, detailed_clients
-- params:   cap, seed
-- A deterministic sample of at most about `cap` values per unit: a row is kept when a hash of
-- its identity, modulo the unit's count, falls below `cap` (every row when count <= cap).
-- Unlike a reservoir sample, the result does not depend on the number of threads. Rows come
-- unordered; the caller sorts each unit's values (cheaper than a sort of every row here).
with model_gaps as (
    select
        model_key as unit_key,
        offset_us - lag(offset_us) over (partition by model_key order by offset_us) as iat_us,
        hash(model_key, offset_us, client_key, $seed) as draw
    from char_requests
),

model_rows as (
    select
        'model' as level,
        unit_key,
        iat_us / 1e6 as iat_s,
        draw,
        count(*) over (partition by unit_key) as n
    from model_gaps
    where iat_us is not null
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
),

both_levels as (
    select * from model_rows
    union all
    select * from client_rows
)

select level, unit_key, n, iat_s
from both_levels
where n <= $cap or draw % n < $cap
