-- interarrivals
-- grain:    one row per request that has a predecessor in its client window
-- inputs:   summary_arrival_gaps, trace_windows
-- params:   (none)
-- contract: interarrivals@1, sorted by (window_key, iat_s) so that the fit stage can stream
--           whole windows (and whole clients, whose window keys are consecutive) in order.
--           Each gap value of the merged summary is repeated as often as it occurs.
with counted as (
    select
        w.window_key,
        g.iat_us / 1e6 as iat_s,
        g.n
    from summary_arrival_gaps as g
    inner join trace_windows as w
        on
            g.category = w.category
            and g.model = w.model
            and g.client_id = w.client_id
            and g.window_index = w.window_index
),

final as (
    select window_key, iat_s
    from (select window_key, iat_s, unnest(range(n)) from counted)
)

select * from final order by window_key, iat_s
