-- arrivals
-- grain:    one row per accepted request (errors included: they are arrivals too)
-- inputs:   requests
-- params:   origin_us, window_us
-- The inter-arrival time is measured to the previous request of the same client and
-- model in the same trace window, so the first request of each window has none.
with source as (
    select
        category,
        model,
        client_id,
        arrival_us - $origin_us as offset_us
    from requests
),

windowed as (
    select
        category,
        model,
        client_id,
        offset_us // $window_us as window_index,
        offset_us
    from source
),

final as (
    select
        category,
        model,
        client_id,
        window_index,
        offset_us - lag(offset_us) over (
            partition by category, model, client_id, window_index order by offset_us
        ) as iat_us
    from windowed
)

select * from final
