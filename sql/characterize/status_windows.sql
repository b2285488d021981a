-- status_windows
-- grain:    one row per (model_key, trace window) with requests, and one per (detailed client,
--           trace window) with requests (client_key -1 marks the model's rows)
-- inputs:   summary_window_counts, clients, detailed_clients
-- params:   (none)
-- Requests per trace window by status class (2xx, 429, other 4xx, 5xx; the rest, including
-- requests without a status, as other), for the rate per trace window, the status mix over
-- time and the 429 share against load; per client only for the clients shown in detail.
with per_client as (
    select
        c.model_key,
        c.client_key,
        w.window_index,
        w.n_requests as n,
        w.n_2xx,
        w.n_429,
        w.n_4xx_other,
        w.n_5xx
    from summary_window_counts as w
    inner join clients as c
        on w.category = c.category and w.model = c.model and w.client_id = c.client_id
),

per_model as (
    select
        model_key,
        -1 as client_key,
        window_index,
        sum(n)::bigint as n,
        sum(n_2xx)::bigint as n_2xx,
        sum(n_429)::bigint as n_429,
        sum(n_4xx_other)::bigint as n_4xx_other,
        sum(n_5xx)::bigint as n_5xx
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
