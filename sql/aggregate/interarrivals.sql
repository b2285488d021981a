-- interarrivals
-- grain:    one row per request that has a predecessor in its client window
-- inputs:   arrivals, trace_windows
-- params:   (none)
-- contract: interarrivals@1, sorted by (window_key, iat_s) so that the fit stage can stream
--           whole windows (and whole clients, whose window keys are consecutive) in order.
with final as (
    select
        w.window_key,
        a.iat_us / 1e6 as iat_s
    from arrivals as a
    inner join trace_windows as w
        on a.client_key = w.client_key and a.window_index = w.window_index
    where a.iat_us is not null
)

select * from final order by window_key, iat_s
