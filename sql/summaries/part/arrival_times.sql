-- arrival_times
-- grain:    one row per request of the part: (category, model, client_id, window_index,
--           arrival_us, gap_us)
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/2. The window's arrivals in the part, one row each, in
--           ascending order (epoch microseconds); gap_us is the distance to the previous
--           arrival of the window in the part, NULL for the part's first. One row per arrival,
--           not one list per window: a heavy client's window holds tens of thousands of
--           arrivals, and rows of fixed width are what DuckDB's sort, tables and Parquet
--           writer spill. Ties sort by gap_us (NULL first), so equal inputs give equal rows.
with windowed as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $window_us as window_index,
        arrival_us
    from part_requests
),

final as (
    select
        *,
        arrival_us - lag(arrival_us) over (
            partition by category, model, client_id, window_index
            order by arrival_us
        ) as gap_us
    from windowed
)

select * from final
order by category, model, client_id, window_index, arrival_us, gap_us nulls first
