-- tick_dispersion
-- grain:    one row per trace window (window_key) of a client of a quantized model
-- inputs:   requests, clients, trace_windows
-- params:   origin_us, window_us, models, ticks_us, min_ticks
-- Counts per clock tick, for models whose arrivals sit on a coarse clock (models[i] ticks
-- every ticks_us[i]). Ticks run from the window's first to its last busy tick, empty ticks
-- counted as 0, so a window that starts or ends idle is not mistaken for a bursty one.
-- tick_fano = variance / mean of the counts; NULL below min_ticks ticks.
-- Not (yet) from a summary: which models are quantized, and their ticks, are known only
-- from the merged time quality, so this re-reads the requests of those models alone (none,
-- for most logs).
with ticks as (
    select
        unnest($models::varchar[]) as model,
        unnest($ticks_us::bigint[]) as tick_us
),

keyed as (
    select
        c.client_key,
        r.arrival_us - $origin_us as offset_us,
        t.tick_us
    from requests as r
    inner join ticks as t on r.model = t.model
    inner join clients as c
        on r.category = c.category and r.model = c.model and r.client_id = c.client_id
),

per_tick as (
    select
        client_key,
        offset_us // $window_us as window_index,
        round(offset_us / tick_us)::bigint as tick_index,
        count(*) as n
    from keyed
    group by all
),

per_window as (
    select
        client_key,
        window_index,
        max(tick_index) - min(tick_index) + 1 as n_ticks,
        sum(n) as n_requests,
        sum(n * n) as sum_sq
    from per_tick
    group by all
),

final as (
    select
        w.window_key,
        p.n_ticks,
        p.n_requests / p.n_ticks as mean_per_tick,
        case
            when p.n_ticks >= $min_ticks
                then (p.sum_sq / p.n_ticks - (p.n_requests / p.n_ticks) ** 2)
                / (p.n_requests / p.n_ticks)
        end as tick_fano
    from per_window as p
    inner join trace_windows as w
        on p.client_key = w.client_key and p.window_index = w.window_index
)

select * from final order by window_key
