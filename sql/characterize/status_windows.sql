-- status_windows
-- grain:    one row per (model_key, trace window) with requests, and one per (detailed client,
--           trace window) with requests (client_key -1 marks the model's rows)
-- inputs:   char_requests, detailed_clients
-- params:   window_us
-- Requests and 429 (rate-limited) answers per trace window, for the 429 share over time and
-- its relation to load; per client only for the clients shown in detail.
with per_client as (
    select
        model_key,
        client_key,
        offset_us // $window_us as window_index,
        count(*) as n,
        count(*) filter (where status = 429) as n_429
    from char_requests
    group by model_key, client_key, window_index
),

per_model as (
    select model_key, -1 as client_key, window_index, sum(n) as n, sum(n_429) as n_429
    from per_client
    group by model_key, window_index
),

detailed as (
    select p.*
    from per_client as p
    inner join detailed_clients as d on p.client_key = d.client_key
)

select model_key, client_key, window_index, n, n_429 from per_model
union all
select model_key, client_key, window_index, n, n_429 from detailed
order by model_key, client_key, window_index
