"""Exports load, validate and generate under a loader written from the format page."""

from __future__ import annotations

import ast
import csv
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import public_trace
from tests.servegen_loader import CATEGORY_FIELDS, generate, load_model


def _models(root: Path) -> list[tuple[str, str]]:
    return sorted(
        (category.name, model.name)
        for category in (root / "data").iterdir()
        for model in category.iterdir()
    )


def test_published_profiles_load_with_the_loader(tmp_path: Path) -> None:
    # The loader is checked against ServeGen's own data before it judges ours.
    published = public_trace("servegen_bailian")
    tarballs = sorted(published.glob("*.tar.gz"))
    assert len(tarballs) == 7, f"expected the 7 published tarballs in {published}"
    for tarball in tarballs:
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp_path, filter="data")
    loaded = {m: load_model(tmp_path, *m) for m in _models(tmp_path)}
    assert {m[1] for m in loaded} == {"m-large", "m-mid", "m-small", "mm-image", "deepseek-r1"}
    assert len(loaded[("language", "m-large")]) == 162
    reason = loaded[("reason", "deepseek-r1")]
    assert any(c.dataset for c in reason)
    requests = generate(reason[:3], "reason", window_s=600, seed=1)
    assert requests


def test_sample_export_loads_and_generates(sample_run: Path) -> None:
    root = sample_run / "profiles"
    models = _models(root)
    assert {m[0] for m in models} == {"language", "multimodal", "reason"}
    for category, model_dir in models:
        clients = load_model(root, category, model_dir)
        assert [c.client_id for c in clients] == list(range(len(clients)))
        for client in clients:
            assert client.dataset, f"{model_dir} chunk {client.client_id} has no dataset window"
            first_active = min(w.timestamp for w in client.windows if w.pattern)
            assert min(client.dataset) <= first_active
        requests = generate(clients, category, window_s=600, seed=3)
        assert len(requests) > 100
        fields = CATEGORY_FIELDS[category]
        assert all(set(r) >= fields for r in requests)


def test_windows_have_patterns_exactly_where_there_were_requests(sample_run: Path) -> None:
    rows = list(csv.DictReader((sample_run / "profiles" / "clients.csv").open()))
    root = sample_run / "profiles" / "data"
    for row in rows:
        lines = root / row["category"] / row["model_dir"] / f"chunk-{row['chunk']}-trace.csv"
        total = 0.0
        for line in lines.read_text().splitlines():
            _ts, rate, cv, pattern, shape, _scale = line.split(",")
            total += float(rate) * 600
            if pattern == "Gamma":
                # ServeGen's published Gamma rows satisfy cv == 1/sqrt(shape); so do ours.
                assert float(cv) == pytest.approx(1 / np.sqrt(float(shape)), rel=1e-12)
        assert round(total) == int(row["requests"])


def test_reason_ratio_is_a_dense_grid_and_strings_are_numeric_literals(sample_run: Path) -> None:
    for path in (sample_run / "profiles" / "data").rglob("*-dataset.json"):
        data = json.loads(path.read_text())
        for fields in data.values():
            for field, text in fields.items():
                tree = ast.parse(text, mode="eval")
                for node in ast.walk(tree):
                    assert isinstance(
                        node, (ast.Expression, ast.Dict, ast.Constant, ast.UnaryOp, ast.USub)
                    ), f"{path}: {field} holds a {type(node).__name__}"
                if field == "reason_ratio":
                    keys = list(ast.literal_eval(text))
                    assert keys == [k / 500 for k in range(501)]


@pytest.mark.parametrize(
    ("relative", "args", "rows"),
    [
        (
            "azure_llm_2023/AzureLLMInferenceTrace_conv.csv",
            [
                "--model",
                "azure-conv",
                "--map",
                "timestamp=TIMESTAMP",
                "--map",
                "input_tokens=ContextTokens",
                "--map",
                "output_tokens=GeneratedTokens",
            ],
            19_366,
        ),
        (
            "mooncake_fast25/conversation_trace.jsonl",
            [
                "--model",
                "mooncake",
                "--time-unit",
                "ms",
                "--map",
                "input_tokens=input_length",
                "--map",
                "output_tokens=output_length",
            ],
            12_031,
        ),
    ],
)
def test_real_public_traces_export_loadable_profiles(
    tmp_path: Path, relative: str, args: list[str], rows: int
) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(public_trace(relative)), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_read"] == summary["rows_accepted"] == rows
    (model_dir,) = [p.name for p in (out / "profiles/data/language").iterdir()]
    clients = load_model(out / "profiles", "language", model_dir)
    assert generate(clients, "language", window_s=600, seed=5)
