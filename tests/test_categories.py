"""The per-category roll-up of stats.json: sums over the category's models, and percentiles
over all of its requests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline import RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate
from reports.blocks import ReportInputs
from reports.build import assemble, render
from reports.sections import overview_section


def test_roll_up_equals_the_sums_over_models_on_the_sample(sample_run: Path) -> None:
    stats = json.loads((sample_run / "stats.json").read_text())
    categories = stats["categories"]
    assert set(categories) == {m["category"] for m in stats["models"]}
    for name, part in categories.items():
        mine = [m for m in stats["models"] if m["category"] == name]
        assert part["models"] == sorted(m["model"] for m in mine)
        assert part["n_models"] == len(mine)
        assert part["n_requests"] == sum(m["n_requests"] for m in mine)
        assert part["n_success"] == sum(m["n_success"] for m in mine)
        assert part["n_clients"] == sum(m["n_clients"] for m in mine)
        for field in ("input_tokens", "output_tokens"):
            total = sum(m[field]["mean"] * m[field]["n"] for m in mine)
            assert part[field]["n"] == sum(m[field]["n"] for m in mine)
            assert part[field]["mean"] == pytest.approx(total / part[field]["n"], rel=1e-9)
            if len(mine) == 1:  # one model per category in the sample: the same percentiles
                for key in ("p50", "p90", "p99"):
                    assert part[field][key] == mine[0][field][key]
    assert sum(p["request_share"] for p in categories.values()) == pytest.approx(1.0)
    assert sum(p["n_requests"] for p in categories.values()) == stats["overview"]["n_requests"]


def test_a_category_of_two_models_pools_their_requests(tmp_path: Path) -> None:
    specs = [
        ClientSpec("a", "small-lm", rate_rps=0.05, failure_rate=0.1),
        ClientSpec("b", "small-lm", rate_rps=0.02, input_lognormal=(7.0, 0.5)),
        ClientSpec("c", "big-lm", rate_rps=0.03, output_mean=800.0),
        ClientSpec("d", "seer", category="reason", rate_rps=0.01),
    ]
    log = generate(specs, duration_s=6 * 3600, seed=2)
    log_path = tmp_path / "two.csv.gz"
    with gzip.open(log_path, "wb") as handle:
        handle.write(log.write_csv().encode())
    out = tmp_path / "out"
    run_all([str(log_path)], out, RunOptions())
    language = json.loads((out / "stats.json").read_text())["categories"]["language"]
    assert language["models"] == ["big-lm", "small-lm"] and language["n_clients"] == 3
    rows = log.filter(pl.col("model") != "seer")
    ok = rows.filter(pl.col("status") == 200)
    assert language["n_requests"] == rows.height and language["n_success"] == ok.height
    for field in ("input_tokens", "output_tokens"):
        values = ok[field].to_numpy()
        assert language[field]["mean"] == pytest.approx(values.mean(), rel=1e-9)
        # DuckDB's quantile_cont interpolates linearly, as numpy's default
        p50, p90, p99 = np.percentile(values, [50, 90, 99])
        assert [language[field][k] for k in ("p50", "p90", "p99")] == pytest.approx(
            [p50, p90, p99], rel=1e-9
        )
    assert language["request_share"] == pytest.approx(rows.height / log.height)


def test_overview_shows_the_category_table(sample_run: Path) -> None:
    stats = json.loads((sample_run / "stats.json").read_text())
    html, _ = render(assemble(ReportInputs(stats, {}, {}), (overview_section,)), "t")
    assert "Per category" in html
    language = stats["categories"]["language"]
    row = (
        f'<tr><td>language</td><td>chat-large</td><td class="num">{language["n_clients"]}</td>'
        f'<td class="num">{language["n_requests"]:,}</td>'
    )
    table_html = html[html.index("<caption>Per category</caption>") :]
    table_html = table_html[: table_html.index("</table>")]
    assert row in table_html
    assert table_html.index("<td>language</td>") < table_html.index("<td>multimodal</td>")
    assert table_html.index("<td>multimodal</td>") < table_html.index("<td>reason</td>")
