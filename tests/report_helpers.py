"""Helpers shared by the report tests: hostile names and reading the built HTML back."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from plotly.offline import get_plotlyjs

# Names a log may carry that would break out of HTML text, attributes, <script> or a path.
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "\"'quoted' \" & <b>bold</b>",
    "../../etc",
    "line\u2028break\u2029end",
    '<a href="https://example.com/x">a link</a>',  # plotly.js draws <a href> in legends
]

_FIGURE_DATA = re.compile(
    r'<script type="application/json" id="(fig\d+)-data">(.*?)</script>', re.DOTALL
)


def write_hostile_log(path: Path, *, rows_per_client: int = 120) -> Path:
    """A CSV whose model, client and session names are all hostile, with enough rows for
    the fits, and status codes (some 429) and latencies so that every section is drawn."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "timestamp",
                "model",
                "client_id",
                "input_tokens",
                "output_tokens",
                "session_id",
                "status",
                "ttft_ms",
                "e2e_ms",
            ]
        )
        start = 1_735_689_600  # 2025-01-01T00:00:00Z
        for m, model in enumerate(HOSTILE_NAMES[:3]):
            for c, client in enumerate(HOSTILE_NAMES):
                for i in range(rows_per_client):
                    at = start + 7 * i + 3 * c + m + (i * i) % 11
                    tokens_in, tokens_out = 50 + (i * 37) % 900, 5 + (i * 13) % 300
                    status = 429 if (i + c) % 9 == 0 else 200
                    ttft = 20 + 0.1 * tokens_in + (i % 7)
                    e2e = ttft + 15 * tokens_out + (i % 5)
                    session = f"{client}-{i % 4}"
                    latency = [round(ttft, 1), round(e2e, 1)]
                    writer.writerow(
                        [at, model, client, tokens_in, tokens_out, session, status, *latency]
                    )
    return path


def without_plotly_js(html: str) -> str:
    """The page minus the inlined plotly.js library (whose own source holds URL strings)."""
    library = get_plotlyjs()
    assert html.count(library) == 1, "plotly.js must be inlined exactly once"
    return html.replace(library, "")


def figure_specs(html: str) -> dict[str, dict]:
    """Every figure's JSON, by figure id, parsed back."""
    return {figure_id: json.loads(text) for figure_id, text in _FIGURE_DATA.findall(html)}


def stats_with_requested_extras(stats: dict) -> dict:
    """The sample's stats plus the keys docs/stats-requests.md asks for (items 5-7), so the
    report's drawing of them is tested before (and after) the characterize stage writes them.
    Adds 5 figures to the first model: three, and the two 429 curves its 429 share brings."""
    model = stats["models"][0]
    hours = [3600.0 * h for h in range(48)]
    wave = [1.0 + 0.5 * ((h % 24) / 24) for h in range(48)]
    model["periodicity"]["daily"] = {
        "available": True,
        "seasonal_strength": 0.8,
        "trend_strength": 0.1,
        "autocorrelation_at_period": 0.7,
        "components": {
            "x": hours,
            "observed": wave,
            "trend": [1.25] * 48,
            "seasonal": [w - 1.25 for w in wave],
            "resid": [0.0] * 48,
        },
    }
    client = model["detailed_clients"][0]
    model["status"] = {
        **model.get("status", {}),
        "available": True,
        "share_429": 0.1,  # curves of 429 shares are drawn only when there are 429s
        "clients_per_window": {client: {"x": [0.0, 600.0], "y_429_share": [0.0, 0.2]}},
    }
    curve = {"x": [10.0, 100.0, 1000.0], "y": [50.0, 80.0, 300.0]}
    model["latency"] = {
        "available": True,
        "ttft_ms": {
            "summary": {"n": 100, "p50": 80.0, "p90": 200.0, "p99": 400.0},
            "ols": {"n": 100, "intercept_ms": 20.0, "ms_per_input_token": 0.1},
            "by_input_tokens": curve,
            "by_output_tokens": curve,
        },
        "e2e_ms": {"available": False, "reason": "no e2e_ms"},
    }
    return stats


# An anomalies.json as a later stage will write it (its events join the key findings).
ANOMALIES = {
    "format": "servechar.anomalies/1",
    "events": [
        {
            "model": "chat-large",
            "client": "acme",
            "metric": "request_rate",
            "kind": "spike",
            "start": "2025-03-03T10:40:00Z",
            "end": "2025-03-03T10:50:00Z",
            "observed": 0.65,
            "expected": 0.21,
            "score": 6.2,
            "share_of_change": 0.8,
        },
        {
            "model": "reasoner-r1",
            "client": "all",
            "metric": "output_tokens",
            "kind": "level shift",
            "start": 3600,
            "end": 7200,
            "observed": 900,
            "expected": 700,
            "score": 3.1,
            "share_of_change": 1.0,
        },
    ],
}


def validated_copy(sample_run: Path, run: Path) -> Path:
    """A copy of the sample run with validation.json (servechar validate) and anomalies.json,
    its report rebuilt; returns the run directory."""
    import shutil

    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.rundir import RunDir
    from reports import build_report

    shutil.copytree(sample_run, run)
    result = CliRunner().invoke(app, ["validate", str(run)])
    assert result.exit_code == 0, result.output
    (run / "anomalies.json").write_text(json.dumps(ANOMALIES))
    # written by hand: no longer the anomalies stage's output, whose stamp would hide it
    (run / "stamps" / "anomalies.json").unlink(missing_ok=True)
    build_report(RunDir(run))
    return run
