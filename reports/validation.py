"""The report's fidelity section, built from `validation.json` (pure: no I/O, no statistics).

`validation_section` turns the document `servechar validate` writes into figures (real,
per-client generated and naive workloads overlaid) and the scorecard table. Model and client
names come from the log and are untrusted: in figure titles they are HTML-escaped (plotly reads
a subset of HTML there), and table cells are plain text that the page renderer escapes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from reports import figures, tables

WORKLOAD_LABELS = {"real": "real", "generated": "per-client generated", "naive": "naive"}
WORKLOAD_STYLE = {
    "real": {"color": "#222222", "dash": "solid"},
    "generated": {"color": "#1f77b4", "dash": "dash"},
    "naive": {"color": "#d62728", "dash": "dot"},
}
TABLE_HEADERS = ("model", "score", "real", "per-client", "naive")
FANO_SCALES = ("1", "10", "60", "600")
FANO_MIN_BINS = 5
"""Fewest whole bins of the span a Fano point of the figure needs: an hour-long trace keeps
its 600-s point (6 bins, as in the scorecard) and loses 1,800 s (2 bins)."""


@dataclass(frozen=True)
class ValidationSection:
    """A titled section: figures with a one-line reading each, and the scorecard table."""

    title: str
    figures: list[tuple[str, go.Figure, str]]
    table_headers: tuple[str, ...]
    table_rows: list[list[str]]


def validation_section(validation: dict[str, Any]) -> ValidationSection:
    """Figures and scorecard of a `validation.json` document (format servechar.validation/1)."""
    figures: list[tuple[str, go.Figure, str]] = []
    rows: list[list[str]] = []
    for model in validation["models"]:
        name = model["model"]
        figures.extend(_model_figures(model))
        rows.extend([name, *row] for row in scorecard_rows(model))
    return ValidationSection(
        title="Fidelity: generated workloads against the real log",
        figures=figures,
        table_headers=TABLE_HEADERS,
        table_rows=rows,
    )


def fmt(value: float | None, *, percent: bool = False) -> str:
    """A score as table text, as the rest of the report writes numbers (three significant
    digits, thousands separators, no exponent below a million); a dash when undefined."""
    if value is None:
        return "-"
    return f"{value:.1f}%" if percent else tables.fmt(value)


def scorecard_rows(model: dict[str, Any]) -> list[list[str]]:
    """(score, real, per-client, naive) rows of one model, in reading order."""
    arrivals = model["arrivals"]

    def arrival_row(label: str, key: str) -> list[str]:
        return [label, *(fmt(arrivals[w][key]) for w in WORKLOAD_LABELS)]

    rows = [
        arrival_row("requests", "n_requests"),
        arrival_row("CV of inter-arrival times", "cv_interarrival"),
        *(
            [
                f"Fano factor at {scale} s",
                *(fmt(arrivals[w]["fano"][scale]) for w in WORKLOAD_LABELS),
            ]
            for scale in FANO_SCALES
        ),
        arrival_row("peak-to-mean of 1-s counts", "peak_to_mean_1s"),
        arrival_row("p99 requests/s", "p99_requests_per_s"),
        arrival_row("p99 tokens/s", "p99_tokens_per_s"),
        [
            "rate error per window",
            "-",
            fmt(model["window_rate_error"]["generated"]),
            fmt(model["window_rate_error"]["naive"]),
        ],
    ]
    for field, scores in sorted(model["fields"].items()):
        for key, label in (("ks", "KS distance"), ("wasserstein", "Wasserstein (tokens)")):
            rows.append(
                [
                    f"{field} {label}",
                    "-",
                    *(fmt(scores.get(w, {}).get(key)) for w in ("generated", "naive")),
                ]
            )
        for quantile in ("p90", "p99"):
            rows.append(
                [
                    f"{field} {quantile}",
                    fmt(next(iter(scores.values()))[f"real_{quantile}"]) if scores else "-",
                    *(
                        fmt(scores.get(w, {}).get(f"generated_{quantile}"))
                        for w in ("generated", "naive")
                    ),
                ]
            )
    rows.append(["client mix (total variation)", "-", fmt(model["client_share_distance"]), "-"])
    spearman = model["spearman_input_output"]
    rows.append(["input/output Spearman", *(fmt(spearman[w]) for w in WORKLOAD_LABELS)])
    capacity = model["capacity"]
    rows.append(
        [
            "capacity for p99 wait (tokens/s)",
            *(fmt(capacity[w]["throughput_tps"]) for w in WORKLOAD_LABELS),
        ]
    )
    under = capacity["under_provisioning_pct"]
    rows.append(
        [
            "under-provisioning vs real",
            "-",
            fmt(under["generated"], percent=True),
            fmt(under["naive"], percent=True),
        ]
    )
    return rows


def _model_figures(model: dict[str, Any]) -> list[tuple[str, go.Figure, str]]:
    name = html.escape(model["model"])
    curves = model["curves"]
    arrivals = model["arrivals"]
    under = model["capacity"]["under_provisioning_pct"]
    figures = []

    iat = curves["interarrival_ccdf"]
    figures.append(
        (
            f"{model['model']}: inter-arrival times",
            _overlay(
                iat["x_s"],
                iat,
                title=f"{name}: inter-arrival time CCDF",
                x_title="inter-arrival time (s)",
                y_title="share of gaps longer than x",
                log_y=True,
            ),
            f"CV of inter-arrival times: real {fmt(arrivals['real']['cv_interarrival'])}, "
            f"per-client {fmt(arrivals['generated']['cv_interarrival'])}, "
            f"naive {fmt(arrivals['naive']['cv_interarrival'])}.",
        )
    )
    fano = _with_enough_bins(curves["fano_vs_scale"])
    figures.append(
        (
            f"{model['model']}: burstiness across time scales",
            _overlay(
                fano["scale_s"],
                fano,
                title=f"{name}: Fano factor of request counts by bin length",
                x_title="bin length (s)",
                y_title="Fano factor (variance / mean of counts)",
                log_y=True,
            ),
            f"Fano factor at 60 s: real {fmt(arrivals['real']['fano']['60'])}, per-client "
            f"{fmt(arrivals['generated']['fano']['60'])}, naive "
            f"{fmt(arrivals['naive']['fano']['60'])} (1 for a Poisson stream); capacity for a "
            f"p99 wait of {fmt(model['capacity']['real']['target_s'])} s: naive under-provisions "
            f"by {fmt(under['naive'], percent=True)}, per-client by "
            f"{fmt(under['generated'], percent=True)}.",
        )
    )
    tokens = curves["token_cdf"]
    for field in ("input_tokens", "output_tokens"):
        series = tokens.get(field, {})
        if not series:
            continue
        scores = model["fields"].get(field, {})
        x, series = _until_every_curve_is_one(tokens["x_tokens"], series)
        figures.append(
            (
                f"{model['model']}: {field.replace('_', ' ')}",
                _overlay(
                    x,
                    series,
                    title=f"{name}: {field.replace('_', ' ')} CDF",
                    x_title=f"{field.replace('_', ' ')} (tokens)",
                    y_title="share of requests at or below x",
                    log_y=False,
                ),
                f"KS distance to the real distribution: per-client "
                f"{fmt(scores.get('generated', {}).get('ks'))}, naive "
                f"{fmt(scores.get('naive', {}).get('ks'))}.",
            )
        )
    return figures


def _with_enough_bins(fano: dict[str, Any]) -> dict[str, Any]:
    """The Fano curve at the bin lengths the span holds at least FANO_MIN_BINS whole bins of:
    a variance over 2 or 3 bins is noise (on a 57-minute log, 1,800-s bins gave a naive Fano
    factor of 0.006 and stretched the axis two decades). Older files without n_bins: as is."""
    n_bins = fano.get("n_bins")
    if not n_bins:
        return fano
    keep = [i for i, n in enumerate(n_bins) if n >= FANO_MIN_BINS]
    return {k: [v[i] for i in keep] if isinstance(v, list) and v else v for k, v in fano.items()}


def _until_every_curve_is_one(
    x: list[float], series: dict[str, Any]
) -> tuple[list[float], dict[str, Any]]:
    """The CDF points up to the first grid point where every curve has reached 1: the token
    grid runs to 1e6 whatever the lengths, and its flat end would take most of the axis."""
    curves = {k: v for k, v in series.items() if v}
    end = len(x)
    for index in range(len(x)):
        if all(v[index] is not None and v[index] >= 1.0 for v in curves.values()):
            end = index + 1
            break
    return x[:end], {k: v[:end] if v else v for k, v in series.items()}


def _overlay(
    x: list[float],
    series: dict[str, Any],
    *,
    title: str,
    x_title: str,
    y_title: str,
    log_y: bool,
) -> go.Figure:
    """The real, per-client and naive curves on the report's shared figure style."""
    shown = [workload for workload in WORKLOAD_LABELS if series.get(workload)]
    return figures.lines(
        title,
        x_title,
        y_title,
        [(WORKLOAD_LABELS[w], (x, series[w])) for w in shown],
        log_x=True,
        log_y=log_y,
        styles=[WORKLOAD_STYLE[w] for w in shown],
    )
