"""The command line: end to end, errors, determinism, hostile names, anonymisation."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.servegen_loader import load_model

runner = CliRunner()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("command", ["run", "ingest", "aggregate", "fit", "export"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output


def test_stages_one_by_one_equal_run(tmp_path: Path, sample_run: Path) -> None:
    out = tmp_path / "staged"
    for args in (["ingest"], ["aggregate"], ["fit"], ["export"]):
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert _tree_digest(out / "profiles") == _tree_digest(sample_run / "profiles")
    assert (out / "fits.json").read_bytes() == (sample_run / "fits.json").read_bytes()


def test_same_input_gives_byte_identical_outputs(tmp_path: Path, sample_run: Path) -> None:
    result = runner.invoke(app, ["run", "--out", str(tmp_path / "again"), "--threads", "1"])
    assert result.exit_code == 0, result.output
    again = tmp_path / "again"
    assert _tree_digest(again / "profiles") == _tree_digest(sample_run / "profiles")
    for name in (
        "fits.json",
        "summary.json",
        "rejects.csv",
        "stats.json",
        "anomalies.json",
        "report.html",
    ):
        assert (again / name).read_bytes() == (sample_run / name).read_bytes()
    manifest = json.loads((again / "manifest.json").read_text())
    stages = {"ingest", "aggregate", "fit", "export", "characterize", "anomalies", "report"}
    assert set(manifest["stages"]) == stages
    assert manifest["stages"]["ingest"]["inputs"][0]["sha256"]
    assert manifest["versions"]["duckdb"]


def test_stage_out_of_order_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", "--out", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "servechar aggregate" in result.output


def test_user_errors_exit_1_with_error_and_hint(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("when,model,a,b\n1,m,1,1\n")
    result = runner.invoke(app, ["run", str(log), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Hint:" in result.output and "--map" in result.output
    assert "Traceback" not in result.output
    bad = runner.invoke(app, ["run", str(log), "--map", "timestamp"])
    assert bad.exit_code == 1 and "NAME=VALUE" in bad.output
    window = runner.invoke(app, ["run", "--window", "600", "--dataset-window", "1000"])
    assert window.exit_code == 1 and "multiple" in window.output
    anon = runner.invoke(app, ["run", "--anonymize"], env={"SERVECHAR_SALT": ""})
    assert anon.exit_code == 1 and "salt" in anon.output


HOSTILE_MODELS = ["../../escape", "a/b\\c", "<script>alert(1)</script>", "..", "m\x01odel"]


def test_hostile_model_names_stay_inside_the_export(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    with log.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "model", "client_id", "input_tokens", "output_tokens"])
        for i in range(200):
            model = HOSTILE_MODELS[i % len(HOSTILE_MODELS)]
            writer.writerow([1735689600 + i, model, f"'; drop table x; --{i % 3}", 10 + i, 5])
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "profiles" / "clients.csv").open()))
    assert {r["model"] for r in rows} == set(HOSTILE_MODELS)
    data = (out / "profiles" / "data" / "language").resolve()
    dirs = {r["model_dir"] for r in rows}
    assert len(dirs) == len(HOSTILE_MODELS)
    for name in dirs:
        assert (data / name).resolve().parent == data
        assert all(ch.isalnum() or ch in "._-" for ch in name)
        load_model(out / "profiles", "language", name)
    assert not (tmp_path / "escape").exists()


def test_anonymize_replaces_client_ids_everywhere(tmp_path: Path, sample_run: Path) -> None:
    out = tmp_path / "anon"
    result = runner.invoke(app, ["run", "--out", str(out), "--anonymize", "--salt", "s3cret"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "profiles" / "clients.csv").open()))
    originals = {
        r["client_id"] for r in csv.DictReader((sample_run / "profiles" / "clients.csv").open())
    }
    assert all(len(r["client_id"]) == 16 for r in rows)
    assert not originals & {r["client_id"] for r in rows}
    fits = (out / "fits.json").read_text()
    assert not any(f'"{name}"' in fits for name in originals)


def test_readme_documents_every_command_and_option() -> None:
    import typer.main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    expected = {"run", "ingest", "aggregate", "fit", "export", "presets", "inspect"}
    assert expected | {"generate", "validate", "whatif", "characterize", "report"} <= set(commands)
    for name, command in commands.items():
        assert f"`{name}`" in readme or f"servechar {name}" in readme, name
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--"):
                    assert option in readme, f"{name} {option} is not in README.md"
