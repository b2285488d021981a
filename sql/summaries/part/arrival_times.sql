-- arrival_times
-- grain:    one row per (category, model, client_id, window_index) with requests in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/1. arrival_us lists the window's arrivals in the part, in
--           ascending order (epoch microseconds): the window's gaps are the differences of
--           consecutive elements, and counts per clock tick come from it, for any tick. Parts
--           being disjoint in time, the merged list is the parts' lists concatenated, so the
--           gap a part boundary cuts is in it. A list per window made by a hash aggregate:
--           no window function sorting string keys per request.
with final as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $window_us as window_index,
        list_sort(list(arrival_us)) as arrival_us
    from part_requests
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
