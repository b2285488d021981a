"""diff.html: the content of diff.json as one self-contained page (no script, no network).

Every string from the runs (model and client names come from the logs) reaches the page
through the template's autoescape; the page computes nothing, it formats diff.json.
"""

from __future__ import annotations

import math
from typing import Any

from reports.build import _environment
from reports.tables import fmt

_SPARKS = "▁▂▃▄▅▆▇█"


def render_diff(document: dict[str, Any]) -> str:
    """The HTML text of one diff document (as `pipeline.diff.build_document` returns it)."""
    models = [
        {
            "model": m["model"],
            "category": m["category"],
            "status": m["status"],
            "material": m["material"],
            "drivers": m["drivers"],
            "changes": [_change_row(c) for c in m["changes"]],
            "clients": [
                {
                    "client": c["client"],
                    "status": c["status"],
                    "material": c["material"],
                    "metrics": ", ".join(x["metric"] for x in c["changes"] if x["material"]),
                    "changes": [_change_row(x) for x in c["changes"]],
                }
                for c in m["clients"]
            ],
        }
        for m in document["models"]
    ]
    html = (
        _environment()
        .get_template("diff.html.j2")
        .render(doc=document, models=models, options=document["options"])
    )
    return html.replace("\x00", "\ufffd")  # as HTML parsers read NUL: never a raw NUL byte


def _change_row(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "metric": change["metric"],
        "old": describe(change["old"]),
        "new": describe(change["new"]),
        "effect": describe(change["effect"]),
        "p_value": fmt(change["p_value"]),
        "q_value": fmt(change["q_value"]),
        "material": change["material"],
    }


def describe(value: Any) -> str:
    """A summary dict as `key value; ...`; hourly lists as a sparkline."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')} {describe(v)}" for key, v in value.items())
    if isinstance(value, list):
        return sparkline(value)
    if isinstance(value, str):
        return value
    return fmt(value)


def sparkline(values: list[float | None]) -> str:
    """Hour-of-day values as block characters (a space where an hour has no value)."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return "—"
    low, high = min(known), max(known)
    span = high - low or 1.0
    marks = "".join(
        " " if v is None else _SPARKS[min(7, int((v - low) / span * 8))] for v in values
    )
    return f"{marks} ({fmt(low)} to {fmt(high)})"
