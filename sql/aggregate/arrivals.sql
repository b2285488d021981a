-- arrivals
-- grain:    one row per accepted request (errors included: they are arrivals too)
-- inputs:   keyed_requests
-- params:   window_us
-- The inter-arrival time is measured to the previous request of the same client (and model)
-- in the same trace window, so the first request of each window has none.
with windowed as (
    select
        client_key,
        offset_us // $window_us as window_index,
        offset_us
    from keyed_requests
),

final as (
    select
        client_key,
        window_index,
        offset_us - lag(offset_us) over (
            partition by client_key, window_index order by offset_us
        ) as iat_us
    from windowed
)

select * from final
