-- arrival_times
-- grain:    one row per request: (category, model, client_id, window_index, arrival_us,
--           gap_us)
-- inputs:   parts_arrival_times, parts_arrival_windows
-- params:   (none)
-- The sorted union of the parts' rows. Parts are disjoint in time, so only a window's first
-- arrival in a part lacks its gap (NULL): it is the distance to the window's last arrival in
-- the part before (from the parts' first_us and last_us, arrival_windows), NULL when no
-- earlier part holds the window. A join with one small row per window and part, no window
-- function over the requests.
with boundaries as (
    select
        category,
        model,
        client_id,
        window_index,
        first_us,
        first_us - lag(last_us) over (
            partition by category, model, client_id, window_index
            order by first_us
        ) as boundary_gap_us
    from parts_arrival_windows
),

final as (
    select
        a.category,
        a.model,
        a.client_id,
        a.window_index,
        a.arrival_us,
        coalesce(a.gap_us, b.boundary_gap_us) as gap_us
    from parts_arrival_times as a
    left join boundaries as b
        on
            a.gap_us is null
            and a.category = b.category
            and a.model = b.model
            and a.client_id = b.client_id
            and a.window_index = b.window_index
            and a.arrival_us = b.first_us
)

select * from final
order by category, model, client_id, window_index, arrival_us, gap_us nulls first
