-- tick_dispersion
-- grain:    one row per trace window (window_key) of a client of a quantized model
-- inputs:   summary_arrival_times, trace_windows
-- params:   origin_us, models, ticks_us, min_ticks
-- Counts per clock tick, for models whose arrivals sit on a coarse clock (models[i] ticks
-- every ticks_us[i]). Ticks run from the window's first to its last busy tick, empty ticks
-- counted as 0, so a window that starts or ends idle is not mistaken for a bursty one.
-- tick_fano = variance / mean of the counts; NULL below min_ticks ticks.
-- Which models are quantized, and their ticks, are known only from the merged time quality:
-- the counts come from the merged arrivals (arrival_times), which serve any tick.
with ticks as (
    select
        unnest($models::varchar[]) as model,
        unnest($ticks_us::bigint[]) as tick_us
),

arrivals as (
    select
        category,
        model,
        client_id,
        window_index,
        arrival_us
    from summary_arrival_times
    where model in (select model from ticks)
),

keyed as (
    select
        w.client_key,
        w.window_index,
        a.arrival_us - $origin_us as offset_us,
        t.tick_us
    from arrivals as a
    inner join ticks as t on a.model = t.model
    inner join trace_windows as w
        on
            a.category = w.category
            and a.model = w.model
            and a.client_id = w.client_id
            and a.window_index = w.window_index
),

per_tick as (
    select
        client_key,
        window_index,
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
