"""Clients of a model: table, concentration, rank plot and stability (stats.json's `clients`,
`concentration`, `stability` and `variance_concentration`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import figures
from reports.blocks import Block, Omitted
from reports.figures import Chart
from reports.findings import telling_top_k
from reports.sections.common import (
    NOTHING,
    TABLE_ROWS,
    _available,
    _count,
    _curve,
    _lacking,
    _missing,
)
from reports.tables import fmt, pct, table, top_with_others

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats

RANK_PLOT_CLIENTS = 3  # below this, a rank plot is two points the clients table already has


def clients_blocks(model: ModelStats) -> list[Block]:
    blocks: list[Block] = []
    concentration = model.get("concentration")
    if _available(concentration) and model.get("n_clients", 0) < 2:
        blocks.append(
            Omitted(
                "client concentration (Lorenz curve, top-k shares, rank plot)",
                "The model has one client, which sends every request.",
            )
        )
    elif not _lacking(concentration):
        by_requests = concentration["by_requests"] or NOTHING
        by_tokens = concentration["by_tokens"] or NOTHING
        series = {}
        for label, part in (("requests", by_requests), ("tokens", by_tokens)):
            if _curve(part["lorenz"]):
                series[label] = (part["lorenz"]["x"], part["lorenz"]["y"])
        shares = by_requests["top_k_share"] or {}
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
                    f"Gini {fmt(by_requests['gini'])} by requests and "
                    f"{fmt(by_tokens['gini'])} by tokens; "
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
            for k in sorted(set(shares) | set(by_tokens["top_k_share"] or {}), key=int)
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
                            (by_tokens["top_k_share"] or {}).get(k),
                        )
                        for k in ks
                    ],
                    formatters={1: pct, 2: pct},
                )
            )
        rank = _curve(concentration["rank"])
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
                c["n_requests"],
                c["request_share"],
                c["token_share"],
                c["rate_rps_mean"],
                c.get("cv_median"),
                (c["input_tokens"] or NOTHING)["p50"],
                (c["output_tokens"] or NOTHING)["p50"],
                (c["correlation"] or NOTHING)["spearman"],
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
        ranked = sorted(stability, key=lambda s: (-(s["variance_share"] or 0.0), s["client_id"]))
        stability_rows = [
            (s["client_id"], s["variance_share"], s["rate_cv"], s["cv_iqr"], s["input_ks_max"])
            for s in ranked
        ]
        top_share = sum(r[1] or 0.0 for r in stability_rows[:5])
        shown, folded = top_with_others(stability_rows, TABLE_ROWS, label="others", summed=(1,))
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
                note=(
                    "The largest contributor accounts for "
                    if min(5, len(stability_rows)) == 1
                    else f"The {min(5, len(stability_rows))} largest contributors account for "
                )
                + f"{pct(top_share)} of the variance of the per-window request count.",
            )
        )
    elif stability is not None:
        blocks.append(_missing("client stability", stability))
    return blocks
