-- arrival_gaps
-- grain:    one row per (category, model, client_id, window_index) with a gap
-- inputs:   parts_arrival_gaps, parts_arrival_windows
-- params:   (none)
-- The parts' gap lists, plus the gap between consecutive parts of a window (ordered by
-- their first arrival): the last arrival of one to the first of the next; sorted.
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

lists as (
    select category, model, client_id, window_index, iat_us
    from parts_arrival_gaps
    union all
    select category, model, client_id, window_index, [iat_us] as iat_us
    from boundary
    where iat_us is not null
),

final as (
    select
        category,
        model,
        client_id,
        window_index,
        list_sort(flatten(list(iat_us))) as iat_us
    from lists
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
