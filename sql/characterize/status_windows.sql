-- status_windows
-- grain:    one row per (model_key, trace window) with requests, and one per (detailed client,
--           trace window) with requests (client_key -1 marks the model's rows)
-- inputs:   char_requests, detailed_clients
-- params:   window_us
-- Requests per trace window by status class (2xx, 429, other 4xx, 5xx; the rest, including
-- requests without a status, as other), for the status mix over time and the 429 share
-- against load; per client only for the clients shown in detail.
with per_client as (
    select
        model_key,
        client_key,
        offset_us // $window_us as window_index,
        count(*) as n,
        count(*) filter (where status between 200 and 299) as n_2xx,
        count(*) filter (where status = 429) as n_429,
        count(*) filter (where status between 400 and 499 and status <> 429) as n_4xx_other,
        count(*) filter (where status between 500 and 599) as n_5xx
    from char_requests
    group by model_key, client_key, window_index
),

per_model as (
    select
        model_key,
        -1 as client_key,
        window_index,
        sum(n) as n,
        sum(n_2xx) as n_2xx,
        sum(n_429) as n_429,
        sum(n_4xx_other) as n_4xx_other,
        sum(n_5xx) as n_5xx
    from per_client
    group by model_key, window_index
),

detailed as (
    select p.*
    from per_client as p
    inner join detailed_clients as d on p.client_key = d.client_key
)

select model_key, client_key, window_index, n, n_2xx, n_429, n_4xx_other, n_5xx from per_model
union all
select model_key, client_key, window_index, n, n_2xx, n_429, n_4xx_other, n_5xx from detailed
order by model_key, client_key, window_index
