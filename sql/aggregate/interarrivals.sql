-- interarrivals
-- grain:    one row per request that has a predecessor in its client window
-- inputs:   summary_arrival_times, trace_windows
-- params:   (none)
-- contract: interarrivals@1, sorted by (window_key, iat_s) so that the fit stage can stream
--           whole windows (and whole clients, whose window keys are consecutive) in order.
--           The gaps are those of the window's merged arrivals (gap_us: each arrival's
--           distance to the previous one of its window).
with final as (
    select
        w.window_key,
        t.gap_us / 1e6 as iat_s
    from summary_arrival_times as t
    inner join trace_windows as w
        on
            t.category = w.category
            and t.model = w.model
            and t.client_id = w.client_id
            and t.window_index = w.window_index
    where t.gap_us is not null
)

select * from final order by window_key, iat_s
