-- arrival_gaps
-- grain:    one row per (category, model, client_id, window_index, iat_us) seen in the part
-- inputs:   part_requests
-- params:   origin_us, window_us
-- contract: servechar.summaries/1. The gaps between consecutive arrivals of a client in a
--           trace window (the gaps arrival_windows sums), as an exact value -> count table.
--           The gap a part boundary cuts is added by the merge (from arrival_windows).
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
    select category, model, client_id, window_index, iat_us, count(*) as n
    from gaps
    where iat_us is not null
    group by category, model, client_id, window_index, iat_us
)

select * from final
order by category, model, client_id, window_index, iat_us
