-- arrival_gaps
-- grain:    one row per (category, model, client_id, window_index, iat_us)
-- inputs:   parts_arrival_gaps, parts_arrival_windows
-- params:   (none)
-- The parts' counts summed, plus the gap between consecutive parts of a window (ordered by
-- their first arrival): the last arrival of one to the first of the next.
with boundary as (
    select
        category,
        model,
        client_id,
        window_index,
        first_us - lag(last_us) over (
            partition by category, model, client_id, window_index order by first_us
        ) as iat_us
    from parts_arrival_windows
),

counts as (
    select category, model, client_id, window_index, iat_us, n
    from parts_arrival_gaps
    union all
    select category, model, client_id, window_index, iat_us, 1 as n
    from boundary
    where iat_us is not null
),

final as (
    select category, model, client_id, window_index, iat_us, sum(n)::bigint as n
    from counts
    group by category, model, client_id, window_index, iat_us
)

select * from final
order by category, model, client_id, window_index, iat_us
