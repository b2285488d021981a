-- interarrival_moments
-- grain:    one row: count, mean and population standard deviation of the gaps between
--           consecutive requests of one client of the model in [start_s, end_s)
-- inputs:   requests
-- params:   category, model, client_id, origin_us, start_s, end_s
with selected as (
    select arrival_us
    from requests
    where
        category = $category
        and model = $model
        and client_id = $client_id::varchar
        and arrival_us >= $origin_us + $start_s::bigint * 1000000
        and arrival_us < $origin_us + $end_s::bigint * 1000000
),

gaps as (
    select (arrival_us - lag(arrival_us) over (order by arrival_us)) / 1e6 as gap_s
    from selected
),

final as (
    select
        count(gap_s) as n_gaps,
        avg(gap_s) as mean_gap_s,
        stddev_pop(gap_s) as sd_gap_s
    from gaps
)

select * from final
