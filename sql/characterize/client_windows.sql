-- client_windows
-- grain:    one row per client_key
-- inputs:   trace_windows, clients
-- params:   (none)
-- How a client's traffic moves between trace windows. Windows are origin-aligned; the sums
-- cover active windows only (inactive ones add 0), and sum_n_total is the sum over windows
-- of the client's count times the model's count in the same window, for covariances.
with model_windows as (
    select c.model_key, w.window_index, sum(w.n_requests) as n_total
    from trace_windows as w
    inner join clients as c on w.client_key = c.client_key
    group by c.model_key, w.window_index
),

final as (
    select
        w.client_key,
        any_value(c.model_key) as model_key,
        count(*) as n_windows_active,
        quantile_cont(w.cv, [0.25, 0.5, 0.75]) as cv_quartiles,
        sum(w.n_requests::hugeint) as sum_n,
        sum(w.n_requests::hugeint * w.n_requests) as sum_n2,
        sum(w.n_requests::hugeint * m.n_total) as sum_n_total
    from trace_windows as w
    inner join clients as c on w.client_key = c.client_key
    inner join model_windows as m on c.model_key = m.model_key and w.window_index = m.window_index
    group by w.client_key
)

select * from final order by client_key
