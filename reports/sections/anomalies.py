"""Anomalies of a model (anomalies.json): the timeline of its events shaded on its request
rate, and the table of events (when, what, how big, which clients).

Every string from the log (model and client names) reaches the page through the table
(escaped by the template) or through `figures.plotly_text`; nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reports import figures
from reports.blocks import Block, Paragraph
from reports.figures import Chart
from reports.sections.common import TABLE_ROWS
from reports.tables import duration, fmt, pct, table

METRIC_LABELS = {
    "requests_per_minute": "requests per minute",
    "tokens_per_minute": "tokens per minute",
    "share_5xx": "share of 5xx",
    "share_429": "share of 429",
    "ttft_p50_ms": "TTFT p50 (ms)",
    "ttft_p99_ms": "TTFT p99 (ms)",
    "e2e_p99_ms": "end-to-end p99 (ms)",
}
SHARES = {"share_5xx", "share_429"}


def anomalies_blocks(name: str, anomalies: Mapping[str, Any] | None) -> list[Block]:
    """The blocks opening model `name`'s section; none when the run has no anomalies.json."""
    if not isinstance(anomalies, Mapping):
        return []
    events = [
        event
        for event in anomalies.get("events") or []
        if isinstance(event, Mapping) and str(event.get("model", "")) == name
    ]
    series: Mapping[str, Any] = anomalies.get("series") or {}
    if not isinstance(series, Mapping):
        series = {}
    blocks: list[Block] = []
    timeline = next(
        (
            t
            for t in series.get("timelines") or []
            if isinstance(t, Mapping) and str(t.get("model", "")) == name
        ),
        None,
    )
    chart = _timeline_chart(timeline, events) if timeline is not None else None
    if chart is not None:
        blocks.append(chart)
    analysed = [
        s
        for s in series.get("analysed") or []
        if isinstance(s, Mapping) and str(s.get("model", "")) == name and s.get("status") == "ok"
    ]
    if not events:
        blocks.append(
            Paragraph(
                f"No spike, dip, level shift or outage in the {len(analysed)} series scored "
                "for this model (see Methods: Anomalies)."
            )
        )
        return blocks
    blocks.append(_events_table(events, analysed))
    return blocks


def _timeline_chart(
    timeline: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> Chart | None:
    observed, expected = timeline.get("observed"), timeline.get("expected")
    offset, bin_s = timeline.get("offset_s"), timeline.get("bin_s")
    start = _moment(timeline.get("start"))
    if not (isinstance(observed, list) and isinstance(offset, int | float)):
        return None
    if not isinstance(bin_s, int | float) or bin_s <= 0 or start is None:
        return None
    hours = [(offset + (i + 0.5) * bin_s) / 3600 for i in range(len(observed))]
    series: list[tuple[str, figures.Series]] = [("requests per minute", (hours, observed))]
    if isinstance(expected, list) and len(expected) == len(observed):
        series.append(("expected", (hours, expected)))
    spans = []
    for event in events:
        begin, end = _moment(event.get("start")), _moment(event.get("end"))
        if begin is None or end is None:
            continue
        spans.append(
            (
                (offset + (begin - start)) / 3600,
                (offset + (end - start)) / 3600,
                str(event.get("kind", "")),
            )
        )
    model_events = sum(1 for e in events if e.get("client") is None)
    reading = (
        f"{len(events)} event(s), {model_events} of the model's aggregate, shaded on its "
        f"request rate ({fmt(bin_s / 60)}-minute bins; dotted: the expected rate)."
    )
    return Chart(
        "Timeline of anomalies",
        figures.shaded_lines(
            "Request rate and anomalies",
            "time from origin (hours)",
            "requests per minute",
            series,
            spans,
        ),
        reading,
    )


def _events_table(events: Sequence[Mapping[str, Any]], analysed: Sequence[Any]) -> Any:
    ranked = sorted(events, key=lambda e: (str(e.get("start")), str(e.get("metric"))))
    rows = []
    for event in ranked[:TABLE_ROWS]:
        metric = str(event.get("metric", ""))
        begin, end = _moment(event.get("start")), _moment(event.get("end"))
        rows.append(
            (
                _when(event.get("start"), begin),
                duration(end - begin) if begin is not None and end is not None else "-",
                "all clients" if event.get("client") is None else str(event.get("client")),
                f"{str(event.get('kind', '')).replace('_', ' ')} in "
                f"{METRIC_LABELS.get(metric, metric)}",
                _value(event.get("observed"), metric),
                _value(event.get("expected"), metric),
                fmt(event.get("score")) if _is_number(event.get("score")) else "-",
                _clients(event.get("share_of_change")),
            )
        )
    more = len(events) - len(rows)
    note = (
        f"{len(analysed)} series scored (the model and its top clients, each metric its log "
        "has); score: the largest robust z of the event (a level shift: its size in robust "
        "standard deviations); clients: the top 3 shares of a model-level change."
    )
    if more > 0:
        note += f" {more} more event(s) in anomalies.json."
    return table(
        "Anomalies: when, what, how big, which clients",
        ("start (UTC)", "duration", "series", "what", "observed", "expected", "score", "clients"),
        rows,
        note=note,
        formatters={i: str for i in range(8)},
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(value: Any, metric: str) -> str:
    if not _is_number(value):
        return "-"
    return pct(value) if metric in SHARES else fmt(float(value))


def _clients(shares: Any) -> str:
    if not isinstance(shares, list):
        return "-"
    parts = [
        f"{s.get('client')} {pct(s.get('share'))}"
        for s in shares
        if isinstance(s, Mapping) and _is_number(s.get("share"))
    ]
    return ", ".join(parts) or "-"


def _moment(value: Any) -> float | None:
    """An ISO-8601 instant as epoch seconds (None for anything else)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _when(value: Any, epoch_s: float | None) -> str:
    if epoch_s is None:
        return "-" if value is None else str(value)
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%d %H:%M")
