-- model_streams
-- grain:    one row per model
-- inputs:   parts_model_streams
-- params:   n_gaps
-- The longest gaps of the whole stream are among the parts' longest gaps and the gaps
-- between consecutive parts (one part's last arrival to the next one's first).
with boundary as (
    select
        model,
        lag(last_us) over (partition by model order by first_us) as start_us,
        first_us - lag(last_us) over (partition by model order by first_us) as length_us
    from parts_model_streams
),

listed as (
    select model, unnest(idle_gaps) as gap
    from parts_model_streams
),

candidates as (
    select model, gap.start_us, gap.length_us from listed
    union all
    select model, start_us, length_us from boundary where length_us > 0
),

longest as (
    select
        model,
        arg_max(
            {'start_us': start_us, 'length_us': length_us},
            length_us::hugeint * 100000000000000000 - (start_us + length_us),
            $n_gaps
        ) as idle_gaps
    from candidates
    group by model
),

streams as (
    select
        model,
        sum(n_requests)::bigint as n_requests,
        min(first_us) as first_us,
        max(last_us) as last_us
    from parts_model_streams
    group by model
),

final as (
    select s.model, s.n_requests, s.first_us, s.last_us, l.idle_gaps
    from streams as s
    left join longest as l on s.model = l.model
)

select * from final
order by model
