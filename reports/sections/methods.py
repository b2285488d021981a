"""The definitions of every statistic the report shows."""

from __future__ import annotations

from reports.blocks import Paragraph, ReportInputs, Section
from reports.tables import table

METHODS = (
    (
        "CV",
        "Coefficient of variation of inter-arrival times: standard deviation over mean. "
        "1 for a Poisson process, above 1 for bursty arrivals, below 1 for regular ones.",
    ),
    (
        "Fano factor",
        "Index of dispersion of counts: variance over mean of the number of "
        "requests in consecutive bins of one width (empty bins count). 1 at every width for a "
        "Poisson process; growing with the width for traffic bursty at long time scales.",
    ),
    (
        "Gini coefficient",
        "Inequality of requests (or tokens) across clients (Gini 1912): 0 "
        "when all clients send the same amount, near 1 when one client sends nearly all. The "
        "Lorenz curve plots the cumulative share held by the smallest clients.",
    ),
    (
        "KS distance",
        "Kolmogorov-Smirnov statistic: the largest vertical gap between a fitted "
        "CDF and the empirical CDF (0 = perfect).",
    ),
    (
        "AIC",
        "Akaike information criterion, 2k - 2 log L for a fit with k parameters and "
        "log-likelihood log L; lower is better; compares families on the same data.",
    ),
    (
        "Vuong test",
        "Vuong's (1989) test of two non-nested fits: the mean "
        "per-observation log-likelihood ratio over its standard error is asymptotically normal; "
        "a significant result says one family is closer to the data.",
    ),
    (
        "Wilks' likelihood-ratio test",
        "For nested fits: twice the log-likelihood gain of the richer family is chi-squared "
        "with as many degrees of freedom as extra parameters (Wilks 1938). Here the "
        "Exponential (Poisson arrivals) against the better of Gamma and Weibull, which "
        "contain it at shape 1 (1 degree of freedom).",
    ),
    (
        "Exported arrival pattern",
        "Per client trace window with enough requests: the better of Gamma and Weibull by "
        "maximum likelihood, fitted through the log's clock (a gap below one tick counts as "
        "censored, P(gap < tick), never as a value at a floor), with its fitted shape; the "
        "profile's cv is that pattern's CV (Gamma 1/sqrt(shape)), and fits.json keeps the "
        "window's sample CV beside it. When the sample CV exceeds twice the pattern's CV, the "
        "family's tail cannot produce the gaps and the shape is matched to the sample CV "
        "(pattern.shape_from). Smaller windows use the client's pooled pattern.",
    ),
    (
        "STL strength",
        "Seasonal-trend decomposition by Loess (Cleveland et al. 1990) of the "
        "hourly request count; the strength of the seasonal part is 1 - Var(R) / Var(S + R) "
        "(Wang, Smith and Hyndman 2006), near 1 when the daily pattern dominates the noise.",
    ),
    (
        "Wasserstein distance",
        "The earth mover's distance between two length distributions, "
        "in tokens: the mean amount one must move each request's length to turn one "
        "distribution into the other.",
    ),
    (
        "Mixture",
        "Input lengths are fitted as a Pareto tail (weight w, tail index alpha, scale "
        "xmin) plus a log-normal body by expectation-maximisation; reasoning ratios by one "
        "versus two Gaussian components compared by BIC (a difference above 10 is strong "
        "evidence, Kass and Raftery 1995) and by the number of modes of the fitted density.",
    ),
    (
        "OLS",
        "Ordinary least squares of latency on input and output tokens (statsmodels): "
        "milliseconds per input and per output token with 95% confidence intervals, and R^2, "
        "the share of the latency variance the tokens explain.",
    ),
    (
        "Latency CCDF",
        "P(latency > x) of ttft_ms and e2e_ms over a deterministic sample of successful "
        "requests, on log axes; p50, p90 and p99 (over all successful requests) are marked "
        "where the curve crosses 0.5, 0.1 and 0.01.",
    ),
    (
        "Status classes",
        "Requests per trace window by status: 2xx, 429 (rate limited), other 4xx, 5xx, and "
        "other (1xx, 3xx or no status).",
    ),
    (
        "429 share against load",
        "The trace windows with requests, sorted by their request rate (the model's, or the "
        "client's own), are cut into ten equal-count groups (deciles); each group's 429 share "
        "is its 429 answers over its requests. Spearman's rank correlation of the window's "
        "429 share with its rate summarises the dependence.",
    ),
    (
        "Anomalies",
        "Per model and top client, in bins of anomalies.json's bin_minutes: requests and "
        "tokens per minute (square root), the 5xx and 429 shares, TTFT p50/p99 and end-to-end"
        " p99 (logarithm). Level shifts first, by binary segmentation of the series less its "
        "daily pattern (log scale), smoothed by a 6-hour running median (a step of at least "
        "30%, significant, sharp, lasting 6 hours; from two days on). The baseline is robust "
        "STL (Cleveland et al. 1990; statsmodels, robust=True) with a daily period on hourly "
        "means when two days are fitted, MSTL (daily and weekly) from two weeks, a 6-hour "
        "running median otherwise; refitted without the bins found anomalous. A bin is "
        "anomalous outside Tukey's far-out fences (median +- 3.5 IQR of the residuals, about "
        "4.7 robust sds; the IQR floored at the bin's Poisson or binomial noise) and at least"
        " 30% (shares: 5 points) off; a share or percentile needs 20 requests in its bin; a "
        "p99 uses fences 1.5 IQR wider and two bins. Adjacent anomalous bins form one event "
        "(grown to the inner fences, 2 IQR); a dip to zero where requests were expected is an"
        " outage. A model-level event's clients are ranked by their excess over their usual "
        "share "
        "(docs/anomalies.md).",
    ),
    (
        "Percentiles",
        "p50, p90 and p99 are over successful requests (2xx or no status). "
        "Fits use a deterministic sample of at most --sample-cap values (stats.json options).",
    ),
)


def methods_section(inputs: ReportInputs) -> Section:
    return Section(
        "Methods",
        (
            table("Definitions", ("statistic", "definition"), METHODS),
            Paragraph(
                'Every number in this report comes from stats.json (written by "servechar '
                'characterize"), anomalies.json ("servechar anomalies"), summary.json and '
                "manifest.json in the run directory; the report draws them and computes "
                "nothing itself."
            ),
        ),
    )
