-- window_vuong
-- grain:    one row per fitted trace window (status 'fitted', finite AIC for all families)
-- inputs:   window_fits, interarrivals, clients
-- params:   (none)
-- Vuong's (1989) test between the two best families by AIC of each window: the pointwise
-- log-density differences d of its inter-arrival times (floored at the window's tie floor,
-- as in the fit) give z = sqrt(n) mean(d) / sd(d); z > 0 favours the best family.
with fitted as (
    select
        f.window_key,
        c.model_key,
        f.tie_floor_s,
        f.gamma__a as g_a,
        f.gamma__scale as g_scale,
        f.weibull_min__c as w_c,
        f.weibull_min__scale as w_scale,
        f.expon__scale as e_scale,
        f.lognorm__s as l_s,
        f.lognorm__scale as l_scale,
        f.gamma__aic as gamma,
        f.weibull_min__aic as weibull_min,
        f.expon__aic as expon,
        f.lognorm__aic as lognorm
    from window_fits as f
    inner join clients as c
        on f.category = c.category and f.model = c.model and f.client_id = c.client_id
    where
        f.status = 'fitted'
        and isfinite(f.gamma__aic) and isfinite(f.weibull_min__aic)
        and isfinite(f.expon__aic) and isfinite(f.lognorm__aic)
),

ranked as (
    select
        window_key,
        family,
        row_number() over (partition by window_key order by aic, family) as place
    from (
        unpivot (select window_key, gamma, weibull_min, expon, lognorm from fitted)
        on gamma, weibull_min, expon, lognorm
        into name family value aic
    )
),

top_two as (
    select
        window_key,
        max(family) filter (where place = 1) as first_family,
        max(family) filter (where place = 2) as second_family
    from ranked
    group by window_key
),

densities as (
    select
        f.window_key,
        t.first_family,
        t.second_family,
        (f.g_a - 1) * ln(x.x) - x.x / f.g_scale - f.g_a * ln(f.g_scale) - lgamma(f.g_a) as gamma,
        ln(f.w_c / f.w_scale) + (f.w_c - 1) * ln(x.x / f.w_scale)
        - pow(x.x / f.w_scale, f.w_c) as weibull_min,
        -ln(f.e_scale) - x.x / f.e_scale as expon,
        -ln(x.x * f.l_s * sqrt(2 * pi()))
        - pow(ln(x.x / f.l_scale), 2) / (2 * f.l_s * f.l_s) as lognorm
    from fitted as f
    inner join top_two as t on f.window_key = t.window_key
    inner join (
        select i.window_key, greatest(i.iat_s, w.tie_floor_s) as x
        from interarrivals as i
        inner join fitted as w on i.window_key = w.window_key
    ) as x on f.window_key = x.window_key
),

differences as (
    select
        window_key,
        any_value(first_family) as first_family,
        any_value(second_family) as second_family,
        count(*) as n,
        avg(d) as mean_d,
        stddev_pop(d) as sd_d
    from (
        select
            window_key,
            first_family,
            second_family,
            case first_family
                when 'gamma' then gamma when 'weibull_min' then weibull_min
                when 'expon' then expon else lognorm
            end
            - case second_family
                when 'gamma' then gamma when 'weibull_min' then weibull_min
                when 'expon' then expon else lognorm
            end as d
        from densities
    )
    group by window_key
),

final as (
    select
        f.model_key,
        d.window_key,
        d.first_family,
        d.second_family,
        d.n,
        case when d.sd_d > 0 then sqrt(d.n) * d.mean_d / d.sd_d end as z
    from differences as d
    inner join fitted as f on d.window_key = f.window_key
)

select * from final order by model_key, window_key
