-- arrival_gaps
-- grain:    one row per (category, model, client_id, window_index) with a gap in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/1. iat_us lists, in ascending order, the gaps between
--           consecutive arrivals of a client in a trace window inside the part (the window's
--           gap list: what the interarrivals artefact streams). The gap a part boundary cuts
--           is added by the merge (from arrival_windows). A list per window, not a row per
--           gap: no string keys to sort per request.
with windowed as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $window_us as window_index,
        arrival_us
    from part_requests
),

gaps as (
    select
        category,
        model,
        client_id,
        window_index,
        arrival_us - lag(arrival_us) over (
            partition by category, model, client_id, window_index order by arrival_us
        ) as iat_us
    from windowed
),

final as (
    select category, model, client_id, window_index, list_sort(list(iat_us)) as iat_us
    from gaps
    where iat_us is not null
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
