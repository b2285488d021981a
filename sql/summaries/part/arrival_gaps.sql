-- arrival_gaps
-- grain:    one row per (category, model, client_id, window_index) with a gap in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/1. iat_us lists, in ascending order, the gaps between
--           consecutive arrivals of a client in a trace window inside the part (the window's
--           gap list: what the interarrivals artefact streams). The gap a part boundary cuts
--           is added by the merge (from arrival_windows). A list per window made by a hash
--           aggregate, not a window function over rows: no string keys sorted per request
--           (twice as fast).
with arrivals as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $window_us as window_index,
        list_sort(list(arrival_us)) as arrival_us
    from part_requests
    group by category, model, client_id, window_index
),

final as (
    select
        category,
        model,
        client_id,
        window_index,
        -- element i + 1 minus element i: the gaps between consecutive arrivals
        list_sort(list_transform(arrival_us[2:], lambda x, i: x - arrival_us[i])) as iat_us
    from arrivals
    where len(arrival_us) > 1
)

select * from final
order by category, model, client_id, window_index
