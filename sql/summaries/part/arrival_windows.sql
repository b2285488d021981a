-- arrival_windows
-- grain:    one row per (category, model, client_id, window_index) with requests in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/2 (docs/summaries.md). A part records the window's arrivals
--           and its first and last arrival (a hash aggregate, no sort); the merge adds the gap
--           statistics from the merged arrivals (arrival_times).
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
        category,
        model,
        client_id,
        window_index,
        count(*) as n_requests,
        min(arrival_us) as first_us,
        max(arrival_us) as last_us
    from windowed
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
