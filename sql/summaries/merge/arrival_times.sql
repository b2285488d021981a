-- arrival_times
-- grain:    one row per (category, model, client_id, window_index) with requests
-- inputs:   parts_arrival_times
-- params:   (none)
-- The parts' lists of a window, concatenated and sorted.
with final as (
    select
        category,
        model,
        client_id,
        window_index,
        list_sort(flatten(list(arrival_us))) as arrival_us
    from parts_arrival_times
    group by category, model, client_id, window_index
)

select * from final
order by category, model, client_id, window_index
