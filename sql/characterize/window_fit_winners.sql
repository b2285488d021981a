-- window_fit_winners
-- grain:    one row per trace window that the fit stage fitted (status 'fitted', finite AIC)
-- inputs:   window_fits, clients
-- params:   (none)
-- The family with the smallest AIC and the one with the smallest KS distance, and Wilks'
-- likelihood-ratio statistic of the Exponential (Poisson arrivals) against the better of
-- Gamma and Weibull, in both of which it is nested (shape 1).
with fitted as (
    select
        c.model_key,
        f.gamma__aic as g_aic,
        f.weibull_min__aic as w_aic,
        f.expon__aic as e_aic,
        f.lognorm__aic as l_aic,
        f.gamma__ks as g_ks,
        f.weibull_min__ks as w_ks,
        f.expon__ks as e_ks,
        f.lognorm__ks as l_ks,
        2 * (greatest(f.gamma__loglik, f.weibull_min__loglik) - f.expon__loglik) as lr_expon
    from window_fits as f
    inner join clients as c
        on f.category = c.category and f.model = c.model and f.client_id = c.client_id
    where
        f.status = 'fitted'
        and isfinite(f.gamma__aic) and isfinite(f.weibull_min__aic)
        and isfinite(f.expon__aic) and isfinite(f.lognorm__aic)
)

select
    model_key,
    case least(g_aic, w_aic, e_aic, l_aic)
        when g_aic then 'gamma' when w_aic then 'weibull_min' when e_aic then 'expon'
        else 'lognorm'
    end as best_by_aic,
    case least(g_ks, w_ks, e_ks, l_ks)
        when g_ks then 'gamma' when w_ks then 'weibull_min' when e_ks then 'expon'
        else 'lognorm'
    end as best_by_ks,
    lr_expon
from fitted
order by model_key
