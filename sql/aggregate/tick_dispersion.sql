-- tick_dispersion
-- grain:    one row per trace window (window_key) of a client of a quantized model
-- inputs:   keyed_requests, clients, trace_windows
-- params:   window_us, models, ticks_us, min_ticks
-- Counts per clock tick, for models whose arrivals sit on a coarse clock (models[i] ticks
-- every ticks_us[i]). Ticks run from the window's first to its last busy tick, empty ticks
-- counted as 0, so a window that starts or ends idle is not mistaken for a bursty one.
-- tick_fano = variance / mean of the counts; NULL below min_ticks ticks.
with ticks as (
    select
        unnest($models::varchar[]) as model,
        unnest($ticks_us::bigint[]) as tick_us
),

per_tick as (
    select
        k.client_key,
        k.offset_us // $window_us as window_index,
        round(k.offset_us / t.tick_us)::bigint as tick_index,
        count(*) as n
    from keyed_requests as k
    inner join clients as c on k.client_key = c.client_key
    inner join ticks as t on c.model = t.model
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
