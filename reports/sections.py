"""The report's sections: pure functions from the run's parsed artefacts to `Section`s.

Each top-level section is ``(ReportInputs) -> Section | None`` (``None``: nothing to say for
this run) and `SECTIONS` lists them in page order, so a new artefact (validation, quirks,
...) gets its section with one line. Every number shown comes from `stats.json`,
`summary.json` or `manifest.json`; readings under the figures quote those numbers, and a
statistic the run lacks becomes an `Unavailable` note with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reports import figures
from reports.blocks import Block, Omitted, Paragraph, ReportInputs, Section, Unavailable
from reports.figures import Chart
from reports.findings import findings_section, model_key, telling_top_k
from reports.tables import Table, fmt, pct, table, top_with_others
from reports.tables import duration as _duration

TABLE_ROWS = 25  # rows of a per-client table before the rest fold into "others"
OVERVIEW_CLIENTS = 10  # clients listed in the overview, over all models
RANK_PLOT_CLIENTS = 3  # below this, a rank plot is two points the clients table already has


# --- helpers -----------------------------------------------------------------------------------


def _available(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("available", True) is not False


def _missing(what: str, part: Any) -> Unavailable:
    """Why a statistic is not shown: the reason stats.json gives, or that it is absent."""
    if isinstance(part, Mapping) and part.get("reason"):
        return Unavailable(what, str(part["reason"]))
    return Unavailable(
        what, 'not in stats.json (re-run "servechar characterize" with this version)'
    )


def _hour(offset_s: float) -> str:
    """Seconds from the (midnight) origin as a UTC time of day, e.g. 14:05."""
    minutes = int(offset_s // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _when(offset_s: float | None) -> str:
    """Seconds from the origin as a UTC time of day, with the day number past the first."""
    if offset_s is None:
        return "-"
    day = int(offset_s // 86400)
    return f"day {day + 1}, {_hour(offset_s)}" if day else _hour(offset_s)


def _count(n: Any, noun: str) -> str:
    """'1 client', '2 clients', '1,000 clients'."""
    return f"{fmt(n)} {noun}" if n == 1 else f"{fmt(n)} {noun}s"


def _curve(part: Any) -> tuple[list[Any], list[Any]] | None:
    if isinstance(part, Mapping) and part.get("x") and isinstance(part.get("y"), list):
        return part["x"], part["y"]
    return None


def _hours(xs: Sequence[float]) -> list[float]:
    return [x / 3600 for x in xs]


def _summary_row(label: str, summary: Mapping[str, Any] | None) -> list[Any]:
    summary = summary or {}
    return [label, *(summary.get(key) for key in ("n", "mean", "p50", "p90", "p99"))]


SUMMARY_COLUMNS = ("field", "n", "mean", "p50", "p90", "p99")


# --- sections ----------------------------------------------------------------------------------


def overview_section(inputs: ReportInputs) -> Section:
    """Rows read, accepted and rejected (by reason), the time span, models and input files."""
    overview = inputs.stats.get("overview", {})
    summary = inputs.summary
    blocks: list[Block] = []
    read, accepted, rejected = (
        summary.get(key, 0) for key in ("rows_read", "rows_accepted", "rows_rejected")
    )
    blocks.append(
        Paragraph(
            f"{fmt(read)} rows read: {fmt(accepted)} accepted and {fmt(rejected)} rejected "
            f"({pct(rejected / read if read else 0.0, digits=2)}); "
            f"{fmt(overview.get('n_models'))} models, {fmt(overview.get('n_clients'))} "
            "(model, client) pairs."
        )
    )
    reasons = sorted(summary.get("rejects_by_reason", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    if reasons:
        blocks.append(
            table(
                "Rejected rows by reason (details in rejects.csv)",
                ("reason", "rows", "share of rows read"),
                [(reason, n, n / read if read else 0.0) for reason, n in reasons],
                formatters={2: pct},
            )
        )
    coverage = overview.get("coverage", {})
    if overview.get("first_arrival"):
        hours_active = coverage.get("hours_active", [])
        blocks.append(
            Paragraph(
                f"First request {overview['first_arrival']}, last {overview['last_arrival']} "
                f"(span {_duration(overview.get('span_s'))}, {fmt(coverage.get('n_days'))} "
                f"calendar day(s) in UTC). "
                + (
                    "Every hour of the day has requests."
                    if coverage.get("covers_full_day")
                    else f"Requests fall in {len(hours_active)} of the 24 UTC hours, from "
                    f"{_hour(3600 * coverage.get('start_hour_utc', 0))} to "
                    f"{_hour(3600 * coverage.get('end_hour_utc', 0))} UTC; "
                    "daily patterns below cover only that part of the day."
                )
                + f" Trace windows are {fmt(overview.get('window_s'))} s, dataset windows "
                f"{fmt(overview.get('dataset_window_s'))} s; times are from the origin "
                f"{overview.get('origin', '-')}."
            )
        )
    models = overview.get("models", [])
    if models:
        blocks.append(
            table(
                "Models",
                ("model", "category", "requests", "share of requests", "clients"),
                [
                    (m["model"], m["category"], m["n_requests"], m["request_share"], m["n_clients"])
                    for m in models
                ],
                formatters={3: pct},
            )
        )
    blocks.extend(_category_blocks(inputs.stats.get("categories")))
    largest = sorted(
        (
            (c["client_id"], m.get("model"), c.get("n_requests") or 0, c.get("request_share"))
            for m in inputs.stats.get("models", [])
            for c in (m.get("clients") or [])[:OVERVIEW_CLIENTS]
        ),
        key=lambda row: (-row[2], str(row[1]), str(row[0])),
    )[:OVERVIEW_CLIENTS]
    if largest:
        blocks.append(
            table(
                f"The {_count(len(largest), 'largest client')} across models",
                ("client", "model", "requests", "share of the model's requests"),
                largest,
                formatters={3: pct},
                note="Each model's section lists its clients in full (top rows, then others).",
            )
        )
    inputs_used = inputs.manifest.get("stages", {}).get("ingest", {}).get("inputs", [])
    if inputs_used:
        blocks.append(
            table(
                "Input files",
                ("file", "format", "compression", "bytes", "sha256"),
                [
                    (
                        Path(str(f.get("path", ""))).name,
                        f.get("format"),
                        f.get("compression") or "none",
                        f.get("bytes"),
                        str(f.get("sha256", ""))[:16],
                    )
                    for f in inputs_used
                ],
            )
        )
    return Section("Overview", tuple(blocks), key="overview")


def _category_blocks(categories: Any) -> list[Block]:
    """The per-category roll-up: requests, clients and token percentiles of each category."""
    if not isinstance(categories, Mapping) or not categories:
        return []
    rows = []
    for name, part in sorted(categories.items()):
        tokens = [
            (part.get(field) or {}).get(key)
            for field in ("input_tokens", "output_tokens")
            for key in ("mean", "p50", "p90", "p99")
        ]
        rows.append(
            (
                name,
                ", ".join(part.get("models") or []),
                part.get("n_clients"),
                part.get("n_requests"),
                part.get("request_share"),
                part.get("n_success"),
                *tokens,
            )
        )
    counts = [row[:6] for row in rows]
    tokens = [(row[0], *row[6:]) for row in rows]
    return [
        table(
            "Per category",
            ("category", "models", "clients", "requests", "share of requests", "successful"),
            counts,
            formatters={4: pct},
            note="Clients are (model, client) pairs.",
        ),
        table(
            "Tokens per category (successful requests)",
            (
                "category",
                "input mean",
                "input p50",
                "input p90",
                "input p99",
                "output mean",
                "output p50",
                "output p90",
                "output p99",
            ),
            tokens,
            note="Over successful requests (2xx or no status) of every model of the category.",
        ),
    ]


def models_section(inputs: ReportInputs) -> Section | None:
    """One section per model, in stats.json's order (category, model)."""
    models = inputs.stats.get("models", [])
    if not models:
        return Section("Models", (Unavailable("per-model statistics", "the log has no model"),))
    return Section(
        "Models",
        (Paragraph("Each model in turn: arrivals, burstiness, periodicity, clients, requests."),),
        tuple(model_section(model, inputs) for model in models),
        key="models",
    )


CATEGORY_NAMES = {"language": "language", "reason": "reasoning", "multimodal": "multimodal"}


def model_section(model: Mapping[str, Any], inputs: ReportInputs) -> Section:
    name = str(model.get("model", ""))
    category = CATEGORY_NAMES.get(model.get("category"), model.get("category"))
    header = Paragraph(
        f"A {category} model: {_count(model.get('n_requests'), 'request')} "
        f"({fmt(model.get('n_success'))} successful) from "
        f"{_count(model.get('n_clients'), 'client')}; the first at "
        f"{_when(model.get('first_offset_s'))} UTC, the last at "
        f"{_when(model.get('last_offset_s'))} UTC."
    )
    parts = [
        ("Arrivals", arrivals_blocks),
        ("Burstiness", lambda m: [*burstiness_blocks(m), *clock_ties_blocks(m, inputs)]),
        ("Periodicity", periodicity_blocks),
        ("Clients", clients_blocks),
        ("Request data", request_blocks),
        ("Reasoning", reasoning_blocks),
        ("Multimodal", multimodal_blocks),
        ("Conversations", sessions_blocks),
        ("Operations", operations_blocks),
        ("Not available", not_applicable_blocks),
    ]
    children = []
    for title, blocks_of in parts:
        blocks = blocks_of(model)
        if blocks:
            children.append(Section(title, tuple(blocks), key=model_key(name, title)))
    return Section(f"Model {name}", (header,), tuple(children), key=model_key(name))


def arrivals_blocks(model: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    rate = model.get("rate")
    if not _available(rate):
        return [_missing("request rate over time", rate)]
    per_minute = _curve(rate.get("per_minute"))
    if per_minute:
        xs, ys = per_minute
        peak, mean = rate.get("peak_rps"), rate.get("mean_rps")
        reading = "Peak and mean rate: not in stats.json."
        if peak is not None:
            reading = f"Peak {fmt(peak)} requests/s at {_when(rate.get('peak_offset_s'))} UTC" + (
                f", {fmt(peak / mean)} times the mean of {fmt(mean)} requests/s." if mean else "."
            )
        bin_s = rate.get("bin_s", 60)
        blocks.append(
            Chart(
                "Aggregate request rate",
                figures.lines(
                    f"Aggregate request rate ({fmt(bin_s)} s bins)",
                    "time from origin (hours)",
                    "requests per second",
                    {"aggregate": (_hours(xs), ys)},
                ),
                reading,
            )
        )
    per_window = _curve(rate.get("per_window"))
    clients = rate.get("clients_per_window") or {}
    if per_window and clients and model.get("n_clients", 0) > 1:  # one client = the aggregate
        xs = _hours(per_window[0])
        detailed = [c for c in model.get("detailed_clients", []) if c in clients]
        # A list, not a dict: a client may be called "all clients" too.
        series = [("all clients", (xs, per_window[1]))]
        series += [(client, (xs, clients[client]["y"])) for client in detailed]
        top = (model.get("clients") or [{}])[0]
        blocks.append(
            Chart(
                "Request rate per client",
                figures.lines(
                    "Request rate per trace window, top clients",
                    "time from origin (hours)",
                    "requests per second",
                    series,
                    selector=True,
                ),
                f"{len(detailed)} most active clients shown; the largest, {top.get('client_id')}, "
                f"sends {pct(top.get('request_share'))} of the model's requests.",
            )
        )
    per_minute_clients = rate.get("clients_per_minute") or {}
    detailed = [c for c in model.get("detailed_clients", []) if _curve(per_minute_clients.get(c))]
    if detailed and model.get("n_clients", 0) > 1:
        bin_s = rate.get("bin_s", 60)
        blocks.append(
            Chart(
                "Request rate per client, fine resolution",
                figures.lines(
                    f"Request rate per top client ({fmt(bin_s)} s bins)",
                    "time from origin (hours)",
                    "requests per second",
                    [
                        (c, (_hours(per_minute_clients[c]["x"]), per_minute_clients[c]["y"]))
                        for c in detailed
                    ],
                    selector=True,
                ),
                f"The {len(detailed)} top clients at {fmt(bin_s)} s resolution; pick one in "
                "the menu to see its bursts.",
            )
        )
    blocks.extend(interarrival_blocks(model))
    return blocks


FAMILY_NAMES = {
    "gamma": "Gamma",
    "weibull_min": "Weibull",
    "expon": "Exponential",
    "lognorm": "Lognormal",
    "pareto_lognormal": "Pareto + lognormal mixture",
}


def _fits_table(caption: str, fits: Mapping[str, Any]) -> Table:
    rows = []
    for family, fit in sorted(fits.items(), key=lambda kv: _aic_key(kv[1])):
        if not _available(fit):
            rows.append((FAMILY_NAMES.get(family, family), "not fitted", None, None, None))
            continue
        params = fit.get("params") or {
            k: v
            for k, v in fit.items()
            if k not in {"loglik", "aic", "ks", "ccdf", "available", "n_used"}
            and not isinstance(v, list)
        }
        rows.append(
            (
                FAMILY_NAMES.get(family, family),
                ", ".join(f"{k}={fmt(v)}" for k, v in sorted(params.items())),
                fit.get("loglik"),
                fit.get("aic"),
                fit.get("ks"),
            )
        )
    return table(
        caption,
        ("family", "parameters", "log-likelihood", "AIC", "KS distance"),
        rows,
        note="Lower AIC is better (rows sorted by AIC); KS is the largest gap between the "
        "fitted and the empirical CDF.",
    )


def _aic_key(fit: Any) -> float:
    aic = fit.get("aic") if isinstance(fit, Mapping) else None
    return aic if isinstance(aic, int | float) else float("inf")


def _ccdf_with_fits(
    title: str, x_title: str, part: Mapping[str, Any], what: str
) -> tuple[Chart, Table] | None:
    curve = _curve(part.get("ccdf"))
    if not curve:
        return None
    xs, ys = curve
    fits = part.get("fits", {})
    fitted = [
        (f"{FAMILY_NAMES.get(family, family)} fit", (xs, fit["ccdf"]))
        for family, fit in sorted(fits.items())
        if _available(fit) and isinstance(fit.get("ccdf"), list)
    ]
    ranked = sorted(
        ((family, fit) for family, fit in fits.items() if _available(fit)),
        key=lambda kv: _aic_key(kv[1]),
    )
    reading = f"No family could be fitted to the {what}."
    if ranked:
        family, fit = ranked[0]
        reading = (
            f"Best fit by AIC: {FAMILY_NAMES.get(family, family)} (KS {fmt(fit.get('ks'))})"
            + (
                f"; the exponential (Poisson arrivals) has KS {fmt(fits['expon'].get('ks'))}."
                if _available(fits.get("expon")) and family != "expon"
                else "."
            )
        )
    chart = Chart(
        title,
        figures.lines(
            title, x_title, "P(X > x)", {"empirical": (xs, ys)}, log_x=True, log_y=True, fits=fitted
        ),
        reading,
    )
    fits_table = _fits_table(f"Fits: {what}", fits)
    vuong = part.get("vuong_top_two")
    if isinstance(vuong, Mapping) and vuong.get("first"):
        fits_table = Table(
            fits_table.caption,
            fits_table.columns,
            fits_table.rows,
            fits_table.numeric,
            f"{fits_table.note} {_vuong_text(vuong)}",
        )
    return chart, fits_table


def _vuong_text(vuong: Mapping[str, Any]) -> str:
    first = FAMILY_NAMES.get(vuong.get("first"), vuong.get("first"))
    second = FAMILY_NAMES.get(vuong.get("second"), vuong.get("second"))
    pvalue = vuong.get("pvalue")
    verdict = (
        f"{first} is significantly closer to the data"
        if isinstance(pvalue, float) and pvalue < 0.05 and (vuong.get("statistic") or 0) > 0
        else "the two cannot be told apart at the 5% level"
    )
    return (
        f"Vuong test of {first} against {second}: statistic {fmt(vuong.get('statistic'))}, "
        f"p-value {fmt(pvalue)}; {verdict}."
    )


def interarrival_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("interarrivals")
    if not _available(part):
        return [_missing("inter-arrival time distributions", part)]
    blocks: list[Block] = []
    aggregate = part.get("aggregate")
    if _available(aggregate):
        drawn = _ccdf_with_fits(
            "Inter-arrival times, all clients merged (CCDF)",
            "inter-arrival time (s)",
            aggregate,
            "inter-arrival times of the merged stream",
        )
        if drawn:
            blocks.extend(drawn)
    clients = part.get("clients") or {}
    detailed = [c for c in model.get("detailed_clients", []) if _available(clients.get(c))]
    if detailed:
        series = {c: _curve(clients[c].get("ccdf")) for c in detailed}
        shown = {c: xy for c, xy in series.items() if xy}
        if shown:
            counts: dict[str, int] = {}
            for c in shown:
                family = FAMILY_NAMES.get(clients[c].get("best_by_aic"), "-")
                counts[family] = counts.get(family, 0) + 1
            tally = ", ".join(
                f"{family} {n}"
                for family, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            blocks.append(
                Chart(
                    "Inter-arrival times per client",
                    figures.lines(
                        "Inter-arrival times per top client (CCDF)",
                        "inter-arrival time within a trace window (s)",
                        "P(X > x)",
                        shown,
                        log_x=True,
                        log_y=True,
                        selector=True,
                    ),
                    f"Best family by AIC over the {len(shown)} top clients: {tally}.",
                )
            )
            blocks.extend(_client_fit_overlay(clients, list(shown)))
            blocks.append(
                table(
                    "Best family per top client",
                    (
                        "client",
                        "intervals",
                        "best by AIC",
                        "its KS",
                        "best by KS",
                        "Vuong: first vs second",
                        "Vuong p-value",
                    ),
                    [_client_fit_row(c, clients[c]) for c in shown],
                    note="Vuong's test compares the two best families by AIC (p < 0.05: the "
                    "first is significantly closer to the data).",
                )
            )
    wins = part.get("family_wins")
    if _available(wins) and wins.get("n_windows"):
        families = sorted(set(wins.get("by_aic", {})) | set(wins.get("by_ks", {})))
        lr = wins.get("lr_test") or {}
        vuong = wins.get("vuong_top_two") or {}
        n = wins["n_windows"]
        blocks.append(
            table(
                f"Which family wins, over {fmt(n)} fitted trace windows",
                (
                    "family",
                    "windows best by AIC",
                    "windows best by KS",
                    "windows it wins by Vuong's test",
                ),
                [
                    (
                        FAMILY_NAMES.get(f, f),
                        wins.get("by_aic", {}).get(f, 0),
                        wins.get("by_ks", {}).get(f, 0),
                        (vuong.get("winner") or {}).get(f, 0) if vuong else None,
                    )
                    for f in families
                ],
                note=" ".join(
                    text
                    for text in (
                        f"Likelihood-ratio test ({lr.get('test', 'Wilks')}): the Exponential "
                        f"(Poisson arrivals) is rejected at alpha {fmt(lr.get('alpha'))} in "
                        f"{fmt(lr.get('exponential_rejected'))} of {fmt(lr.get('n_windows'))} "
                        "windows."
                        if lr
                        else "",
                        f"Vuong's test between each window's two best families by AIC is "
                        f"significant at alpha {fmt(vuong.get('alpha'))} in "
                        f"{fmt(vuong.get('significant'))} of {fmt(vuong.get('n_windows'))} "
                        "windows (the last column counts the family it favours)."
                        if vuong
                        else "",
                    )
                    if text
                ),
            )
        )
    return blocks


def _client_fit_overlay(clients: Mapping[str, Any], shown: list[str]) -> list[Block]:
    """Each top client's inter-arrival CCDF with its own fitted families (menu: one client)."""
    groups = []
    for client in shown:
        xs, ys = _curve(clients[client].get("ccdf")) or ([], [])
        fits = clients[client].get("fits") or {}
        series = [("empirical", (xs, ys))] + [
            (f"{FAMILY_NAMES.get(family, family)} fit", (xs, fit["ccdf"]))
            for family, fit in sorted(fits.items())
            if _available(fit) and isinstance(fit.get("ccdf"), list)
        ]
        groups.append((client, series))
    if not groups:
        return []
    first = shown[0]
    best = FAMILY_NAMES.get(clients[first].get("best_by_aic"), "-")
    return [
        Chart(
            "Inter-arrival fits per client",
            figures.grouped_lines(
                "Inter-arrival times of one top client with its fitted families (CCDF)",
                "inter-arrival time within a trace window (s)",
                "P(X > x)",
                groups,
                log_x=True,
                log_y=True,
            ),
            f"The client's data (solid) against Gamma, Weibull, Exponential and Lognormal fitted "
            f"to it (dashed); shown first: {first}, best by AIC {best}. A dashed line that "
            "leaves the data in the tail misses the client's bursts or lulls.",
        )
    ]


def _client_fit_row(client: str, fit: Mapping[str, Any]) -> tuple[Any, ...]:
    best = fit.get("best_by_aic")
    vuong = fit.get("vuong_top_two") or {}
    return (
        client,
        fit.get("n"),
        FAMILY_NAMES.get(best, "-"),
        ((fit.get("fits") or {}).get(best) or {}).get("ks"),
        FAMILY_NAMES.get(fit.get("best_by_ks"), "-"),
        " vs ".join(FAMILY_NAMES.get(vuong.get(k), "-") for k in ("first", "second"))
        if vuong
        else "-",
        vuong.get("pvalue"),
    )


def burstiness_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("burstiness")
    if not _available(part):
        return [_missing("burstiness (CV and Fano factor)", part)]
    blocks: list[Block] = []
    weighted, unweighted = _curve(part.get("cv_cdf")), _curve(part.get("cv_cdf_unweighted"))
    if weighted:
        series = {"weighted by requests": weighted}
        if unweighted:
            series["each window once"] = unweighted
        above, median = part.get("share_cv_above_1"), part.get("cv_median_weighted")
        blocks.append(
            Chart(
                "Burstiness: CV of inter-arrival times",
                figures.lines(
                    "CV of inter-arrival times per client trace window (CDF)",
                    "coefficient of variation (1 = Poisson)",
                    "cumulative share",
                    series,
                    mode="lines",
                ),
                f"{pct(above)} of requests arrive in client windows burstier than Poisson "
                f"(CV > 1); the request-weighted median CV is {fmt(median)}.",
            )
        )
    fano = part.get("fano")
    if _available(fano) and _curve(fano.get("aggregate")):
        aggregate = fano["aggregate"]
        # A list, not a dict: a client may be called "aggregate" too.
        series = [("aggregate", (aggregate["x"], aggregate["y"]))]
        for client in model.get("detailed_clients", []) if model.get("n_clients", 0) > 1 else ():
            if _curve((fano.get("clients") or {}).get(client)):
                series.append(
                    (client, (fano["clients"][client]["x"], fano["clients"][client]["y"]))
                )
        scales = aggregate["x"]
        valid = [(x, y) for x, y in zip(scales, aggregate["y"], strict=True) if y is not None]
        reading = "Too few bins for a Fano factor at any scale."
        if valid:
            (x0, y0), (x1, y1) = valid[0], valid[-1]
            verdict = (
                "bursty beyond Poisson at long time scales"
                if y1 > 2
                else "close to Poisson (1) across scales"
                if 0.5 < y1 < 2 and 0.5 < y0 < 2
                else "over- or under-dispersed relative to Poisson (1)"
            )
            reading = (
                f"Aggregate Fano factor {fmt(y0)} at {_duration(x0)} and {fmt(y1)} at "
                f"{_duration(x1)}: {verdict}."
            )
        blocks.append(
            Chart(
                "Index of dispersion of counts",
                figures.lines(
                    "Fano factor of request counts by time scale",
                    "bin width (s)",
                    "Fano factor (variance / mean of counts)",
                    series,
                    log_x=True,
                    log_y=True,
                    mode="lines+markers",
                    reference=("Poisson (1)", (scales, [1.0] * len(scales))),
                    selector=True,
                ),
                reading,
            )
        )
    return blocks


def clock_ties_blocks(model: Mapping[str, Any], inputs: ReportInputs) -> list[Block]:
    """How many of the model's fitted windows had gaps below the clock (the fit stage's count
    in manifest.json): those gaps enter the likelihood censored, not floored."""
    fit = (inputs.manifest.get("stages") or {}).get("fit") or {}
    record = next(
        (
            r
            for r in fit.get("clock_ties") or []
            if (r.get("category"), r.get("model")) == (model.get("category"), model.get("model"))
        ),
        None,
    )
    if record is None:
        return []
    clock, fitted = _tick(record["resolution_s"]), _count(record["windows_fitted"], "fitted window")
    by_ticks = record.get("windows_tick_counts") or 0
    on_ticks = (
        f"{_count(by_ticks, 'window')} with more than one arrival per {clock} tick take their "
        "CV from the dispersion of counts per tick (fits.json status tick_counts)."
    )
    if not record["windows_fitted"]:
        return [Paragraph(f"No window was fitted through its gaps: {on_ticks}")] if by_ticks else []
    if record["windows_with_ties"]:
        text = (
            f"{fmt(record['windows_with_ties'])} of {fitted} were fitted through ties: "
            f"{fmt(record['tied_gaps'])} of all {fmt(record['gaps'])} fitted gaps "
            f"({pct(record['tie_share'])}) fell below the {clock} clock; each enters the "
            "likelihood as censored (shorter than one tick), not as a value."
        )
    else:
        text = (
            f"No gap of the {fitted} ({fmt(record['gaps'])} gaps) fell below the {clock} "
            "clock, so none was fitted through ties."
        )
    matched = record.get("windows_shape_from_sample_cv") or 0
    if matched:
        text += (
            f" {fmt(matched)} of the {fitted} export the shape whose CV is their sample CV: "
            f"it is more than {fmt(fit.get('cv_misfit_ratio'))} times the fitted pattern's CV, "
            "gaps the family's tail cannot produce (fits.json pattern.shape_from is sample_cv)."
        )
    if by_ticks:
        text += f" {on_ticks}"
    return [Paragraph(text)]


def _tick(seconds: float) -> str:
    """A clock resolution as people write it: '1 µs', '10 ms', '3 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def periodicity_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("periodicity")
    if not _available(part):
        return [_missing("periodicity (STL, daily profile)", part)]
    blocks: list[Block] = []
    profile = _curve(part.get("hourly_profile"))
    if profile:
        hours, rates = profile
        busiest, quietest = part.get("busiest_hour_utc"), part.get("quietest_hour_utc")
        reading = "No hour of the day has requests."
        if busiest is not None and quietest is not None:
            rate_at = dict(zip(hours, rates, strict=True))
            reading = (
                f"Busiest hour {_hour_of(busiest)} UTC ({fmt(rate_at.get(busiest))} requests/s), "
                f"quietest {_hour_of(quietest)} UTC ({fmt(rate_at.get(quietest))}); peak-to-mean "
                f"{fmt(part.get('peak_to_mean'))}, "
                f"peak-to-trough {fmt(part.get('peak_to_trough'))}."
            )
        partial = part["hourly_profile"].get("partial") or [False] * len(hours)
        covered = part["hourly_profile"].get("covered_s") or [None] * len(hours)
        whole = [None if p else r for r, p in zip(rates, partial, strict=True)]
        values: dict[str, list[float | None]] = {}
        if any(v is not None for v in whole) or not any(partial):
            values["whole hours"] = whole
        if any(partial):
            values["partly covered hours"] = [
                r if p else None for r, p in zip(rates, partial, strict=True)
            ]
            reading += (
                " Partly covered: "
                + ", ".join(
                    f"{int(h):02d}:00 ({_duration(c)} of it)"
                    for h, p, c in zip(hours, partial, covered, strict=True)
                    if p
                )
                + "; their rate is over the covered time only."
            )
        blocks.append(
            Chart(
                "Daily profile",
                figures.bars(
                    "Mean request rate by hour of day",
                    "hour of day (UTC)",
                    "requests per second",
                    [f"{int(h):02d}" for h in hours],
                    values,
                    stacked=True,
                    legend=any(partial) or None,
                ),
                reading,
            )
        )
    rows = []
    notes: list[Block] = []
    for name, label in (("daily", "daily (1 day)"), ("weekly", "weekly (7 days)")):
        stl = part.get(name)
        if _available(stl):
            rows.append(
                (
                    label,
                    stl.get("n_periods"),
                    stl.get("seasonal_strength"),
                    stl.get("trend_strength"),
                    stl.get("autocorrelation_at_period"),
                    stl.get("peak_to_mean"),
                    stl.get("peak_to_trough"),
                    _hour_of(stl.get("busiest_hour_utc"), weekly=name == "weekly"),
                    _hour_of(stl.get("quietest_hour_utc"), weekly=name == "weekly"),
                )
            )
        else:
            notes.append(_missing(f"STL decomposition at the {label} period", stl))
    if rows:
        blocks.append(
            table(
                "STL decomposition of the hourly request count",
                (
                    "period",
                    "periods observed",
                    "seasonal strength",
                    "trend strength",
                    "autocorrelation at period",
                    "peak/mean",
                    "peak/trough",
                    "busiest hour",
                    "quietest hour",
                ),
                rows,
                note="Strength near 1: the component dominates the remainder (Wang, Smith and "
                "Hyndman 2006). With fewer than about 3 periods observed STL leaves little "
                "remainder, so strengths near 1 say little.",
            )
        )
    for name, label in (("daily", "daily"), ("weekly", "weekly")):
        stl = part.get(name)
        components = stl.get("components") if _available(stl) else None
        if isinstance(components, Mapping) and components.get("x"):
            xs = _hours(components["x"])
            series = {
                key: (xs, components[key])
                for key in ("observed", "trend", "seasonal", "resid")
                if isinstance(components.get(key), list)
            }
            blocks.append(
                Chart(
                    f"STL decomposition ({label})",
                    figures.lines(
                        f"STL decomposition of the hourly rate, {label} period",
                        "time from origin (hours)",
                        "requests per second",
                        series,
                        selector=True,
                    ),
                    f"Seasonal strength {fmt(stl.get('seasonal_strength'))}, trend strength "
                    f"{fmt(stl.get('trend_strength'))}, autocorrelation at one period "
                    f"{fmt(stl.get('autocorrelation_at_period'))}.",
                )
            )
    return blocks + notes


def _hour_of(value: Any, *, weekly: bool = False) -> str:
    """An hour of the day, or of the week (0..167, counted from the origin's weekday)."""
    if not isinstance(value, int | float) or value < 0:
        return "-"
    day, hour = divmod(int(value), 24)
    return f"day {day + 1} of the week, {hour:02d}:00" if weekly else f"{hour:02d}:00"


def clients_blocks(model: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    concentration = model.get("concentration")
    if _available(concentration) and model.get("n_clients", 0) < 2:
        blocks.append(
            Omitted(
                "client concentration (Lorenz curve, top-k shares, rank plot)",
                "The model has one client, which sends every request.",
            )
        )
    elif _available(concentration):
        by_requests = concentration.get("by_requests", {})
        by_tokens = concentration.get("by_tokens", {})
        series = {}
        for label, part in (("requests", by_requests), ("tokens", by_tokens)):
            if _curve(part.get("lorenz")):
                series[label] = (part["lorenz"]["x"], part["lorenz"]["y"])
        shares = by_requests.get("top_k_share", {})
        n_clients = model.get("n_clients", 0)
        top_k = telling_top_k(shares, n_clients)
        if series:
            blocks.append(
                Chart(
                    "Concentration: Lorenz curve",
                    figures.lines(
                        "Lorenz curve of requests and tokens over clients",
                        "cumulative share of clients (smallest first)",
                        "cumulative share of the amount",
                        series,
                        reference=("equal clients", ([0.0, 1.0], [0.0, 1.0])),
                    ),
                    f"Gini {fmt(by_requests.get('gini'))} by requests and "
                    f"{fmt(by_tokens.get('gini'))} by tokens; "
                    + (
                        f"the largest of {_count(n_clients, 'client')} sends "
                        if top_k == "1"
                        else f"the top {top_k} of {fmt(n_clients)} clients send "
                    )
                    + f"{pct(shares.get(top_k))} of requests.",
                )
            )
        # the top k of n clients for k >= n send everything: those rows say nothing
        ks = [
            k
            for k in sorted(set(shares) | set(by_tokens.get("top_k_share", {})), key=int)
            if int(k) < n_clients
        ]
        if ks:
            blocks.append(
                table(
                    "Share of the top k clients",
                    ("top k", "share of requests", "share of tokens"),
                    [
                        (
                            int(k),
                            shares.get(k),
                            by_tokens.get("top_k_share", {}).get(k),
                        )
                        for k in ks
                    ],
                    formatters={1: pct, 2: pct},
                )
            )
        rank = _curve(concentration.get("rank"))
        if rank and len(rank[0]) < RANK_PLOT_CLIENTS:
            blocks.append(
                Omitted(
                    "client rank plot",
                    f"With {_count(len(rank[0]), 'client')} the clients table below lists "
                    "every client's requests.",
                )
            )
        elif rank:
            blocks.append(
                Chart(
                    "Client rank plot",
                    figures.lines(
                        "Requests per client by rank",
                        "client rank (1 = most requests)",
                        "requests",
                        {"clients": rank},
                        log_x=True,
                        log_y=True,
                        mode="lines+markers",
                        x_ticks=rank[0] if len(rank[0]) <= 10 else (),
                    ),
                    f"{_count(len(rank[0]), 'client')}; the largest sends "
                    f"{_count(rank[1][0], 'request')}, the smallest {fmt(rank[1][-1])}.",
                )
            )
    else:
        blocks.append(_missing("client concentration", concentration))
    clients = model.get("clients")
    if isinstance(clients, list) and clients:
        rows = [
            (
                c["client_id"],
                c.get("n_requests"),
                c.get("request_share"),
                c.get("token_share"),
                c.get("rate_rps_mean"),
                c.get("cv_median"),
                (c.get("input_tokens") or {}).get("p50"),
                (c.get("output_tokens") or {}).get("p50"),
                (c.get("correlation") or {}).get("spearman"),
            )
            for c in clients
        ]
        shown, folded = top_with_others(rows, TABLE_ROWS, label="others", summed=(1, 2, 3))
        blocks.append(
            table(
                "Clients by requests",
                (
                    "client",
                    "requests",
                    "share of requests",
                    "share of tokens",
                    "mean rate (requests/s)",
                    "median window CV",
                    "input p50",
                    "output p50",
                    "input/output Spearman",
                ),
                shown,
                formatters={2: pct, 3: pct},
                note=f"{fmt(folded)} smaller clients are folded into the last row."
                if folded
                else "",
            )
        )
    stability = model.get("stability")
    if isinstance(stability, list) and stability:
        ranked = sorted(
            stability, key=lambda s: (-(s.get("variance_share") or 0.0), s["client_id"])
        )
        rows = [
            (
                s["client_id"],
                s.get("variance_share"),
                s.get("rate_cv"),
                s.get("cv_iqr"),
                s.get("input_ks_max"),
            )
            for s in ranked
        ]
        top_share = sum(r[1] or 0.0 for r in rows[:5])
        shown, folded = top_with_others(rows, TABLE_ROWS, label="others", summed=(1,))
        blocks.append(
            table(
                "Stability: which clients drive the aggregate's variance",
                (
                    "client",
                    "share of aggregate variance",
                    "CV of window rate",
                    "IQR of window CV",
                    "largest input KS between windows",
                ),
                shown,
                formatters={1: pct},
                note=f"The {min(5, len(rows))} largest contributors account for "
                f"{pct(top_share)} of the variance of the per-window request count.",
            )
        )
    elif stability is not None:
        blocks.append(_missing("client stability", stability))
    return blocks


def request_blocks(model: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    lengths = model.get("lengths")
    if _available(lengths):
        rows = []
        for name in ("input_tokens", "output_tokens"):
            part = lengths.get(name)
            if not _available(part):
                blocks.append(_missing(f"{name} distribution", part))
                continue
            summary = model.get(name) or part.get("summary") or {}
            rows.append(_summary_row(name, summary))
            drawn = _ccdf_with_fits(
                f"{name.replace('_', ' ').capitalize()} (CCDF)",
                f"{name.replace('_', ' ')} (tokens)",
                part,
                name.replace("_", " "),
            )
            if drawn:
                chart, fits = drawn
                mixture = (part.get("fits") or {}).get("pareto_lognormal")
                extra = (
                    f" Pareto tail weight {pct(mixture.get('tail_weight'))}, tail index "
                    f"{fmt(mixture.get('alpha'))} above {fmt(mixture.get('xmin'))} tokens."
                    if _available(mixture)
                    else ""
                )
                reading = (
                    f"Median {fmt(summary.get('p50'))} tokens, p99 {fmt(summary.get('p99'))}. "
                    + chart.reading
                    + extra
                )
                blocks.extend([Chart(chart.title, chart.figure, reading), fits])
        if rows:
            blocks.insert(0, table("Token counts (successful requests)", SUMMARY_COLUMNS, rows))
    else:
        blocks.append(_missing("request length distributions", lengths))
    corr = model.get("correlation")
    if _available(corr) and corr.get("n"):
        blocks.append(
            Paragraph(
                f"Input vs output tokens over {fmt(corr.get('n'))} requests: Pearson "
                f"{fmt(corr.get('pearson'))}, Spearman {fmt(corr.get('spearman'))} "
                "(per client in the clients table)."
            )
        )
    blocks.extend(drift_blocks(model))
    return blocks


def drift_blocks(model: Mapping[str, Any]) -> list[Block]:
    drift = model.get("drift")
    if not _available(drift):
        return [_missing("drift between windows", drift)]
    blocks: list[Block] = []
    windows = drift.get("windows") or []
    if windows:
        xs = [w["start_s"] / 3600 for w in windows]
        series = {}
        for name in ("input_tokens", "output_tokens"):
            for q in ("p50", "p90"):
                series[f"{name.split('_')[0]} {q}"] = (
                    xs,
                    [(w.get(name) or {}).get(q) for w in windows],
                )
        blocks.append(
            Chart(
                "Length percentiles per dataset window",
                figures.lines(
                    "Token percentiles per dataset window",
                    "window start from origin (hours)",
                    "tokens",
                    series,
                    log_y=True,
                    mode="lines+markers",
                ),
                _drift_reading(len(windows), drift),
            )
        )
    for key, label in (
        ("consecutive", "consecutive dataset windows"),
        ("days", "consecutive days"),
    ):
        pairs = drift.get(key)
        if isinstance(pairs, list) and pairs:
            flagged = sum(1 for p in pairs if p.get("large_shift"))
            rows = [
                (
                    p.get("field"),
                    p.get("from"),
                    p.get("to"),
                    p.get("ks"),
                    p.get("wasserstein"),
                    bool(p.get("large_shift")),
                )
                for p in sorted(pairs, key=lambda p: (-(p.get("ks") or 0.0), str(p.get("field"))))
            ]
            shown, _ = top_with_others(rows, TABLE_ROWS, label="others", summed=())
            blocks.append(
                table(
                    f"Drift between {label} (largest KS first)",
                    ("field", "from", "to", "KS", "Wasserstein (tokens)", "large shift"),
                    shown,
                    note=f"{flagged} of {len(pairs)} pairs are large shifts "
                    f"({_shift_rule(drift)}).",
                )
            )
        elif pairs is not None and not isinstance(pairs, list):
            blocks.append(_missing(f"drift between {label}", pairs))
    return blocks


OPTIONAL_PARTS = {
    "reasoning": "reasoning",
    "multimodal": "multimodal",
    "sessions": "conversations",
    "status": "status codes",
    "latency": "latency",
}


def not_applicable_blocks(model: Mapping[str, Any]) -> list[Block]:
    """The optional parts this model lacks, each with the reason, in one place."""
    missing = [
        f"{label} ({model[key].get('reason', 'no reason given')})"
        for key, label in OPTIONAL_PARTS.items()
        if isinstance(model.get(key), Mapping) and not _available(model[key])
    ]
    if not missing:
        return []
    return [Unavailable("for this model", "; ".join(missing) + ".")]


def _shift_rule(drift: Mapping[str, Any]) -> str:
    threshold = drift.get("large_shift_ks")
    return f"KS > {fmt(threshold)}" if threshold is not None else "as flagged in stats.json"


def _drift_reading(n_windows: int, drift: Mapping[str, Any]) -> str:
    pairs = drift.get("consecutive")
    if not isinstance(pairs, list) or not pairs:
        return f"{n_windows} dataset window(s): no consecutive pair to compare."
    largest = max(pairs, key=lambda p: (p.get("ks") or 0.0, str(p.get("field"))))
    flagged = sum(1 for p in pairs if p.get("large_shift"))
    return (
        f"{n_windows} dataset windows; the largest shift between consecutive windows is "
        f"{largest.get('field')} from window {largest.get('from')} to {largest.get('to')} "
        f"(KS {fmt(largest.get('ks'))}); {flagged} of {len(pairs)} pairs are large shifts "
        f"({_shift_rule(drift)})."
    )


def reasoning_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("reasoning")
    if not _available(part):
        return []
    blocks: list[Block] = []
    ratio = part.get("ratio") or {}
    hist = _curve(part.get("ratio_hist"))
    bimodal = part.get("bimodality") or {}
    means = bimodal.get("means") or [None, None]
    verdict = (
        f"two modes (BIC {fmt(bimodal.get('bic_one'))} for one component vs "
        f"{fmt(bimodal.get('bic_two'))} for two), near {fmt(means[0])} and {fmt(means[-1])}"
        if bimodal.get("is_bimodal")
        else "one mode (two components do not win by BIC and by modes of the density)"
    )
    if hist:
        blocks.append(
            Chart(
                "Reasoning ratio",
                figures.bars(
                    "Reasoning share of output tokens (histogram)",
                    "reasoning tokens / output tokens",
                    "density",
                    hist[0],
                    hist[1],
                ),
                f"Median ratio {fmt(ratio.get('p50'))}; the distribution has {verdict}.",
            )
        )
    blocks.append(
        table(
            "Reasoning",
            SUMMARY_COLUMNS,
            [
                _summary_row("reasoning ratio", ratio),
                _summary_row("reasoning tokens", part.get("reason_tokens")),
            ],
        )
    )
    if bimodal:
        blocks.append(
            table(
                "One or two components: Gaussian mixtures of the reasoning ratio",
                (
                    "n",
                    "BIC, 1 component",
                    "BIC, 2 components",
                    "weights",
                    "means",
                    "sds",
                    "modes",
                    "bimodal",
                ),
                [
                    (
                        bimodal.get("n"),
                        bimodal.get("bic_one"),
                        bimodal.get("bic_two"),
                        " / ".join(fmt(w) for w in bimodal.get("weights") or []),
                        " / ".join(fmt(m) for m in bimodal.get("means") or []),
                        " / ".join(fmt(s) for s in bimodal.get("sds") or []),
                        bimodal.get("n_modes"),
                        bool(bimodal.get("is_bimodal")),
                    )
                ],
                note="Bimodal when two components lower the BIC by more than 10 and their "
                "density has two modes.",
            )
        )
    tokens = part.get("reason_tokens") or {}
    ccdf = _curve(part.get("reason_tokens_ccdf"))
    if ccdf:
        blocks.append(
            Chart(
                "Reasoning tokens",
                figures.lines(
                    "Reasoning tokens per request (CCDF)",
                    "reasoning tokens",
                    "P(X > x)",
                    {"reasoning tokens": ccdf},
                    log_x=True,
                    log_y=True,
                ),
                f"Median {fmt(tokens.get('p50'))} reasoning tokens, p90 {fmt(tokens.get('p90'))}, "
                f"p99 {fmt(tokens.get('p99'))}.",
            )
        )
    corr = part.get("reason_vs_answer") or {}
    text = (
        f"Pearson {fmt(corr.get('pearson'))}, Spearman {fmt(corr.get('spearman'))} over "
        f"{fmt(corr.get('n'))} requests"
    )
    curve = _curve(part.get("reason_vs_answer_curve"))
    if curve:
        blocks.append(
            Chart(
                "Reasoning vs answer length",
                figures.lines(
                    "Answer length by reasoning length (10 equal-count bins)",
                    "reasoning tokens (bin median)",
                    "answer tokens (bin mean)",
                    {"answer tokens": curve},
                    log_x=True,
                    mode="lines+markers",
                ),
                f"Reasoning vs answer (output minus reasoning) tokens: {text}.",
            )
        )
    elif corr:
        blocks.append(Paragraph(f"Reasoning vs answer (output minus reasoning) tokens: {text}."))
    return blocks


def multimodal_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("multimodal")
    if not _available(part):
        return []
    blocks: list[Block] = []
    modalities = part.get("modalities") or {}
    present = [name for name in sorted(modalities) if modalities[name].get("request_share")]
    rows = [
        (
            name,
            modalities[name].get("request_share"),
            modalities[name].get("token_share"),
            (modalities[name].get("items_per_request") or {}).get("mean"),
            (modalities[name].get("tokens_per_item") or {}).get("mean"),
            (modalities[name].get("tokens_per_item") or {}).get("p50"),
            (modalities[name].get("tokens_per_item") or {}).get("p99"),
        )
        for name in present
    ]
    rows.append(("text", None, part.get("text_token_share"), None, None, None, None))
    blocks.append(
        table(
            f"Modality mix over {fmt(part.get('n'))} requests",
            (
                "modality",
                "share of requests",
                "share of input tokens",
                "items per request (mean, when present)",
                "tokens per item (mean)",
                "tokens per item (p50)",
                "tokens per item (p99)",
            ),
            rows,
            formatters={1: pct, 2: pct},
            note="Modalities no request carries are left out.",
        )
    )
    over = part.get("over_windows") or []
    if over:
        xs = [w["start_s"] / 3600 for w in over]
        series = {
            f"{name} requests": (xs, [w.get(f"{name}_request_share") for w in over])
            for name in present
        }
        series["text share of input tokens"] = (xs, [w.get("text_token_share") for w in over])
        first = f"{present[0]} requests" if present else "text share of input tokens"
        values = [v for v in series[first][1] if v is not None]
        blocks.append(
            Chart(
                "Modality mix over time",
                figures.lines(
                    "Modality shares per dataset window",
                    "window start from origin (hours)",
                    "share",
                    series,
                    mode="lines+markers",
                ),
                f"The share of {first.replace(' requests', '')} requests ranges from "
                f"{pct(min(values))} to {pct(max(values))} across {len(over)} windows."
                if values
                else "No window has requests.",
            )
        )
    return blocks


def sessions_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("sessions")
    if not _available(part):
        return []
    turns = part.get("turns") or {}
    return [
        Paragraph(
            f"{fmt(part.get('n_sessions'))} sessions; median {fmt(turns.get('p50'))} turns, "
            f"p99 {fmt(turns.get('p99'))}."
        ),
        table(
            "Conversations",
            SUMMARY_COLUMNS,
            [
                _summary_row("turns per session", turns),
                _summary_row("time between turns (s)", part.get("gap_s")),
            ],
        ),
    ]


def operations_blocks(model: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    status = model.get("status")
    if _available(status):
        blocks.extend(_status_blocks(model, status))
    latency = model.get("latency")
    if _available(latency):
        blocks.extend(_latency_blocks(latency))
    return blocks


def _status_blocks(model: Mapping[str, Any], status: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    codes = status.get("codes") or {}
    corr = status.get("corr_429_vs_rate") or {}
    limited = bool(status.get("share_429"))
    blocks.append(
        table(
            "Status codes",
            ("status", "requests"),
            sorted(codes.items(), key=lambda kv: str(kv[0])),
            note=f"Successful: {pct(status.get('share_success'))}; 429 (rate limited): "
            f"{pct(status.get('share_429'))}."
            + (
                f" The 429 share per trace window against the request rate: Spearman "
                f"{fmt(corr.get('spearman'))} over {fmt(corr.get('n'))} windows."
                if limited
                else ""
            ),
        )
    )
    if not limited:
        blocks.append(
            Omitted(
                "the 429 share over time, against load and per client",
                "No request was answered 429 (rate limited), so every such curve is a flat 0.",
            )
        )
    per_window = status.get("per_window") or {}
    if isinstance(per_window.get("x"), list) and per_window["x"] and status.get("share_429"):
        xs = _hours(per_window["x"])
        blocks.append(
            Chart(
                "Rate limiting over time",
                figures.lines(
                    "Share of requests answered 429, per trace window",
                    "time from origin (hours)",
                    "share of requests",
                    {"429 share": (xs, per_window.get("y_429_share", []))},
                ),
                f"{pct(status.get('share_429'))} of requests were rate limited; the share "
                f"follows the load with Spearman {fmt(corr.get('spearman'))}.",
            )
        )
    over_time = status.get("clients_per_window") or {}
    detailed = [
        c
        for c in model.get("detailed_clients", [])
        if isinstance(over_time.get(c), Mapping) and over_time[c].get("x")
    ]
    blocks.extend(_status_class_blocks(per_window, over_time, detailed))
    blocks.extend(_load_blocks(model, status))
    if detailed and limited:
        series = {c: (_hours(over_time[c]["x"]), over_time[c]["y_429_share"]) for c in detailed}
        blocks.append(
            Chart(
                "Rate limiting per client over time",
                figures.lines(
                    "Share of each top client's requests answered 429",
                    "time from origin (hours)",
                    "share of requests",
                    series,
                    selector=True,
                ),
                f"429 share per trace window for the {len(detailed)} top clients.",
            )
        )
    clients = status.get("clients") or {}
    ranked = [c["client_id"] for c in model.get("clients", []) if c["client_id"] in clients]
    all_codes = sorted({str(code) for per in clients.values() for code in per})
    if ranked and len(all_codes) > 1:
        rows = [
            (client, *(clients[client].get(code, 0) for code in all_codes)) for client in ranked
        ]
        shown, folded = top_with_others(
            rows, TABLE_ROWS, label="others", summed=tuple(range(1, len(all_codes) + 1))
        )
        blocks.append(
            table(
                "Status codes per client (by requests)",
                ("client", *all_codes),
                shown,
                note=f"{fmt(folded)} smaller clients are folded into the last row."
                if folded
                else "",
            )
        )
    return blocks


STATUS_CLASS_LABELS = {
    "2xx": "2xx",
    "429": "429",
    "4xx_other": "other 4xx",
    "5xx": "5xx",
    "other": "other (1xx, 3xx, none)",
}


def _class_layers(curve: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The status classes of a per-window curve that have any request, in a fixed order."""
    counts = curve.get("counts") or {}
    return {
        label: counts[key]
        for key, label in STATUS_CLASS_LABELS.items()
        if isinstance(counts.get(key), list) and any(counts[key])
    }


def _status_class_blocks(
    per_window: Mapping[str, Any], over_time: Mapping[str, Any], detailed: list[str]
) -> list[Block]:
    if not isinstance(per_window.get("counts"), Mapping) or not per_window.get("x"):
        return []
    groups = [("all clients", _hours(per_window["x"]), _class_layers(per_window))]
    groups += [
        (client, _hours(over_time[client]["x"]), _class_layers(over_time[client]))
        for client in detailed
        if isinstance(over_time[client].get("counts"), Mapping)
    ]
    return [
        Chart(
            "Status classes over time",
            figures.stacked_groups(
                "Requests per trace window by status class",
                "time from origin (hours)",
                "requests per trace window",
                groups,
            ),
            "Stacked requests of each status class per trace window; a 429 or 5xx band that "
            "widens at the busy hours points to rate limiting or overload.",
        )
    ]


def _load_blocks(model: Mapping[str, Any], status: Mapping[str, Any]) -> list[Block]:
    """The 429 share per decile of the windows' request rate (model and top clients)."""
    if not status.get("share_429"):
        return []

    def curve(part: Any) -> tuple[list[Any], list[Any]] | None:
        bins = part.get("bins") if isinstance(part, Mapping) else None
        if not bins:
            return None
        return [b["rate_mean"] for b in bins], [b["share_429"] for b in bins]

    series: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    model_curve = curve(status.get("by_load_decile"))
    if model_curve is not None:
        series.append(("all clients (model rate)", model_curve))
    per_client = status.get("clients_by_load_decile") or {}
    for client in model.get("detailed_clients", []):
        client_curve = curve(per_client.get(client))
        if client_curve is not None:
            series.append((client, client_curve))
    if not series:
        return []
    whole = status.get("by_load_decile") or {}
    return [
        Chart(
            "Rate limiting against load",
            figures.lines(
                "429 share per decile of the trace window's request rate",
                "mean request rate of the decile's windows (requests/s)",
                "share of requests answered 429",
                series,
                mode="lines+markers",
                selector=True,
            ),
            "Windows sorted by their request rate (the model's, or the client's own) and cut "
            "into ten equal groups; a share that stays 0 and then climbs marks the load at "
            f"which limiting starts (model: Spearman {fmt(whole.get('spearman'))}).",
        )
    ]


LATENCY_PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def _latency_ccdf_blocks(latency: Mapping[str, Any], metrics: list[str]) -> list[Block]:
    """CCDFs of ttft_ms and e2e_ms on log axes, each with its p50/p90/p99 marked."""
    series: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    marks: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    for metric in metrics:
        curve = _curve(latency[metric].get("ccdf"))
        if not curve:
            continue
        series.append((metric, curve))
        summary = latency[metric].get("summary") or {}
        known = [(summary.get(k), q) for k, q in LATENCY_PERCENTILES if summary.get(k) is not None]
        if known:
            # P(X > p_q) = 1 - q: each percentile sits where the CCDF crosses 1 - q
            marks.append(
                (f"{metric} p50/p90/p99", ([x for x, _ in known], [1 - q for _, q in known]))
            )
    if not series:
        return []
    reading = "; ".join(
        f"{m}: p50 {fmt((latency[m].get('summary') or {}).get('p50'))} ms, p99 "
        f"{fmt((latency[m].get('summary') or {}).get('p99'))} ms"
        for m, _ in series
    )
    return [
        Chart(
            "Latency distributions",
            figures.lines(
                "Latency CCDF with p50, p90 and p99 marked",
                "latency (ms)",
                "P(latency > x)",
                series,
                log_x=True,
                log_y=True,
                points=marks,
            ),
            f"Share of successful requests slower than each latency ({reading}); the "
            "further right the curve's tail, the heavier the slow requests.",
        )
    ]


def _latency_blocks(latency: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    metrics = [m for m in ("ttft_ms", "e2e_ms") if _available(latency.get(m))]
    rows = []
    for metric in metrics:
        ols = latency[metric].get("ols") or {}
        if not ols:
            continue
        ci = ols.get("ci95") or {}

        def with_ci(name: str, ols: Mapping[str, Any] = ols, ci: Mapping[str, Any] = ci) -> str:
            low, high = (ci.get(name) or [None, None])[:2]
            return f"{fmt(ols.get(name))} [{fmt(low)}, {fmt(high)}]"

        rows.append(
            (
                metric,
                ols.get("n"),
                with_ci("intercept_ms"),
                with_ci("ms_per_input_token"),
                with_ci("ms_per_output_token"),
                ols.get("r_squared"),
            )
        )
    if metrics:
        blocks.append(
            table(
                "Latency (ms)",
                ("metric", "n", "p50", "p90", "p99"),
                [
                    (
                        m,
                        *(
                            (latency[m].get("summary") or {}).get(k)
                            for k in ("n", "p50", "p90", "p99")
                        ),
                    )
                    for m in metrics
                ],
            )
        )
    for metric in metrics:
        series = {
            f"by {field.removeprefix('by_').replace('_', ' ')}": _curve(latency[metric].get(field))
            for field in ("by_input_tokens", "by_output_tokens")
        }
        shown = {name: xy for name, xy in series.items() if xy}
        ols = latency[metric].get("ols") or {}
        if shown:
            blocks.append(
                Chart(
                    f"{metric} by tokens",
                    figures.lines(
                        f"Mean {metric} by token count",
                        "tokens (bin centre)",
                        f"mean {metric.removesuffix('_ms')} (ms)",
                        shown,
                        log_x=True,
                        mode="lines+markers",
                    ),
                    f"OLS: {fmt(ols.get('ms_per_input_token'))} ms per input token and "
                    f"{fmt(ols.get('ms_per_output_token'))} ms per output token "
                    f"(R^2 {fmt(ols.get('r_squared'))}).",
                )
            )
    blocks.extend(_latency_ccdf_blocks(latency, metrics))
    if rows:
        blocks.append(
            table(
                "Latency vs tokens (ordinary least squares, 95% confidence intervals)",
                (
                    "metric",
                    "n",
                    "intercept (ms)",
                    "ms per input token",
                    "ms per output token",
                    "R^2",
                ),
                rows,
            )
        )
    return blocks


def validation_section(inputs: ReportInputs) -> Section | None:
    """The fidelity scorecard of `servechar validate` (reports.validation builds its parts)."""
    if inputs.validation is None:
        return None
    from reports.validation import validation_section as fidelity

    built = fidelity(inputs.validation)
    intro = Paragraph(
        "Workloads generated from the exported per-client profiles and from a naive baseline "
        "(Poisson arrivals at each window's aggregate rate, lengths from the pooled "
        "distribution) scored against the log: the closer to the real column, the better. "
        "Capacity is the token throughput a FIFO server needs to keep the p99 queueing delay "
        "under the target; a negative under-provisioning means over-provisioned."
    )
    scorecard = Table(
        "Scorecard",
        built.table_headers,
        tuple(tuple(row) for row in built.table_rows),
        tuple(i >= 2 for i in range(len(built.table_headers))),
    )
    charts = tuple(Chart(title, figure, reading) for title, figure, reading in built.figures)
    return Section(built.title, (intro, scorecard, *charts), key="validation")


IDENTITY_WORDS = {
    "client_id": "clients are the log's client ids",
    "session_id": "clients are sessions (the log has no tenant or key column)",
    "single_client": "the log has no client column: all requests are one client, all",
}


def time_quality_section(inputs: ReportInputs) -> Section | None:
    """Timestamp resolution, quantization, idle gaps and day coverage (aggregate stage)."""
    quality = inputs.quirks
    if not quality:
        return None
    rows = []
    notes = []
    for name, model in sorted(quality.get("models", {}).items()):
        rows.append(
            (
                name,
                model.get("requests"),
                model.get("distinct_arrival_times"),
                model.get("timestamp_resolution_s"),
                model.get("is_quantized"),
                model.get("longest_idle_gap_s"),
                model.get("covers"),
                model.get("is_partial_day"),
            )
        )
        if model.get("sub_resolution_note"):
            notes.append(Paragraph(f"{name}: {model['sub_resolution_note']}."))
        if model.get("is_partial_day"):
            notes.append(
                Paragraph(
                    f"{name}: the log covers {model.get('covers')} only, less than a day; "
                    "profile times still count from UTC midnight, so hour-of-day statistics "
                    "describe that part of the day only."
                )
            )
    identity = IDENTITY_WORDS.get(str(quality.get("identity")), str(quality.get("identity")))
    summary = table(
        "Timestamps per model",
        (
            "model",
            "requests",
            "distinct times",
            "resolution (s)",
            "quantized",
            "longest idle gap (s)",
            "covers (UTC)",
            "less than a day",
        ),
        rows,
    )
    return Section(
        "Timestamps and coverage", (Paragraph(f"Who is a client: {identity}."), summary, *notes)
    )


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
                'characterize"), summary.json and manifest.json in the run directory; the '
                "report draws them and computes nothing itself."
            ),
        ),
    )


SectionFunction = Callable[[ReportInputs], Section | None]

SECTIONS: tuple[SectionFunction, ...] = (
    findings_section,
    overview_section,
    time_quality_section,
    models_section,
    validation_section,
    methods_section,
)
