"""The report's fidelity section: figures with titles and units, a table that matches the data."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from reports.validation import TABLE_HEADERS, fmt, validation_section

runner = CliRunner()


@pytest.fixture(scope="module")
def validation(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    run = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(sample_run, run)
    result = runner.invoke(app, ["validate", str(run)])
    assert result.exit_code == 0, result.output
    return json.loads((run / "validation.json").read_text())


def test_every_figure_has_a_title_axis_units_and_three_workloads(validation: dict) -> None:
    section = validation_section(validation)
    assert section.title
    assert len(section.figures) == 4 * len(validation["models"])
    for title, figure, reading in section.figures:
        assert title and reading.endswith(".")
        layout = figure.layout
        assert layout.title.text
        assert "(s)" in layout.xaxis.title.text or "(tokens)" in layout.xaxis.title.text
        assert layout.yaxis.title.text
        assert [trace.name for trace in figure.data] == ["real", "per-client generated", "naive"]
        assert all(len(trace.x) == len(trace.y) for trace in figure.data)


def test_table_rows_match_validation_json(validation: dict) -> None:
    section = validation_section(validation)
    assert section.table_headers == TABLE_HEADERS
    assert all(len(row) == len(TABLE_HEADERS) for row in section.table_rows)
    for model in validation["models"]:
        rows = {row[1]: row[2:] for row in section.table_rows if row[0] == model["model"]}
        arrivals = model["arrivals"]
        assert rows["CV of inter-arrival times"] == [
            fmt(arrivals[w]["cv_interarrival"]) for w in ("real", "generated", "naive")
        ]
        assert rows["Fano factor at 60 s"] == [
            fmt(arrivals[w]["fano"]["60"]) for w in ("real", "generated", "naive")
        ]
        under = model["capacity"]["under_provisioning_pct"]
        assert rows["under-provisioning vs real"][2] == f"{under['naive']:.1f}%"
        assert rows["input_tokens KS distance"][1:] == [
            fmt(model["fields"]["input_tokens"][w]["ks"]) for w in ("generated", "naive")
        ]


def test_hostile_model_names_are_data_not_markup(validation: dict) -> None:
    hostile = copy.deepcopy(validation)
    hostile["models"] = hostile["models"][:1]
    hostile["models"][0]["model"] = "<script>alert(1)</script>"
    section = validation_section(hostile)
    for _, figure, _ in section.figures:
        assert "<script>" not in figure.to_json()
        assert "&lt;script&gt;" in figure.layout.title.text
    assert {row[0] for row in section.table_rows} == {"<script>alert(1)</script>"}  # plain text
