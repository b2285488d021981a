-- iat_samples
-- grain:    one row per (level, unit_key, iat_us): level 'model' (the model's merged stream,
--           unit_key = model_key) or 'client' (a detailed client within its trace windows,
--           unit_key = client_key), n = how many inter-arrival times of that length
-- inputs:   summary_model_gaps, summary_arrival_times, clients, detailed_clients
-- params:   (none)
-- The exact gaps, as value -> count tables (summaries topics model_gaps, whose merge adds the
-- gaps the parts' boundaries cut, and arrival_times, each trace window's merged arrivals
-- with their gaps), so no request is read: the caller takes every value, or evenly spaced order
-- statistics above the sample cap.
with models as (
    select distinct model_key, model from clients
),

model_rows as (
    select 'model' as level, m.model_key as unit_key, g.gap_us as iat_us, g.n
    from summary_model_gaps as g
    inner join models as m on g.model = m.model
),

client_gaps as (
    select
        c.client_key,
        a.gap_us as iat_us
    from summary_arrival_times as a
    inner join clients as c
        on a.category = c.category and a.model = c.model and a.client_id = c.client_id
    inner join detailed_clients as d on c.client_key = d.client_key
    where a.gap_us is not null
),

client_rows as (
    select 'client' as level, client_key as unit_key, iat_us, count(*)::bigint as n
    from client_gaps
    group by client_key, iat_us
)

select * from model_rows
union all
select * from client_rows
order by level, unit_key, iat_us
