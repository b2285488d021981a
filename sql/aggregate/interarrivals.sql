-- interarrivals
-- grain:    one row per request that has a predecessor in its client window
-- inputs:   summary_arrival_times, trace_windows
-- params:   (none)
-- contract: interarrivals@1, sorted by (window_key, iat_s) so that the fit stage can stream
--           whole windows (and whole clients, whose window keys are consecutive) in order.
--           The gaps are the differences of consecutive arrivals of the window's merged
--           arrival list.
with final as (
    select
        w.window_key,
        unnest(list_transform(t.arrival_us[2:], lambda x, i: (x - t.arrival_us[i]) / 1e6))
            as iat_s
    from summary_arrival_times as t
    inner join trace_windows as w
        on
            t.category = w.category
            and t.model = w.model
            and t.client_id = w.client_id
            and t.window_index = w.window_index
)

select * from final order by window_key, iat_s
