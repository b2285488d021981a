"""Status codes, the 429 share over time and against load (stats.json's `status`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Block, Omitted
from reports.figures import Chart
from reports.sections.common import NOTHING, TABLE_ROWS, _hours, _top_clients
from reports.tables import fmt, pct, table, top_with_others

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats
    from pipeline.stages.characterize.status import Status, StatusOverTime


def _status_blocks(model: ModelStats, status: Status) -> list[Block]:
    blocks: list[Block] = []
    codes = status["codes"] or {}
    corr = status["corr_429_vs_rate"] or NOTHING
    limited = bool(status["share_429"])
    blocks.append(
        table(
            "Status codes",
            ("status", "requests"),
            sorted(codes.items(), key=lambda kv: str(kv[0])),
            note=f"Successful: {pct(status['share_success'])}; 429 (rate limited): "
            f"{pct(status['share_429'])}."
            + (
                f" The 429 share per trace window against the request rate: Spearman "
                f"{fmt(corr['spearman'])} over {fmt(corr['n'])} windows."
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
    per_window = status["per_window"] or {}
    if isinstance(per_window.get("x"), list) and per_window["x"] and status["share_429"]:
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
                f"{pct(status['share_429'])} of requests were rate limited; the share "
                f"follows the load with Spearman {fmt(corr['spearman'])}.",
            )
        )
    over_time = status["clients_per_window"] or {}
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
                f"429 share per trace window for {_top_clients(len(detailed))}.",
            )
        )
    clients = status["clients"] or {}
    ranked = [c["client_id"] for c in model.get("clients", []) if c["client_id"] in clients]
    all_codes = sorted({str(code) for per in clients.values() for code in per})
    if ranked and len(all_codes) > 1:
        rows: list[tuple[Any, ...]] = [
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
    per_window: StatusOverTime, over_time: dict[str, StatusOverTime], detailed: list[str]
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


def _load_blocks(model: ModelStats, status: Status) -> list[Block]:
    """The 429 share per decile of the windows' request rate (model and top clients)."""
    if not status["share_429"]:
        return []

    def curve(part: Any) -> tuple[list[Any], list[Any]] | None:
        bins = part.get("bins") if isinstance(part, Mapping) else None
        if not bins:
            return None
        return [b["rate_mean"] for b in bins], [b["share_429"] for b in bins]

    series: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    model_curve = curve(status["by_load_decile"])
    if model_curve is not None:
        series.append(("all clients (model rate)", model_curve))
    per_client = status["clients_by_load_decile"] or {}
    for client in model.get("detailed_clients", []):
        client_curve = curve(per_client.get(client))
        if client_curve is not None:
            series.append((client, client_curve))
    if not series:
        return []
    whole = status["by_load_decile"] or NOTHING
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
            f"which limiting starts (model: Spearman {fmt(whole['spearman'])}).",
        )
    ]
