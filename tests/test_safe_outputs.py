"""Safe outputs and clear errors: spreadsheet-safe CSV, no NUL bytes, `generate -o` checks, run
directories never read as logs, and the mistakes that used to end in a traceback."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all
from pipeline.cli import app
from pipeline.generate import MAX_REQUESTS, load_profiles
from pipeline.rundir import RunDir
from pipeline.spreadsheet import restore_cell, safe_cell

runner = CliRunner()
HOSTILE_CLIENTS = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "'=quoted",
    "'; plain quote",
    "nul\x00byte",
    "plain",
]
START = 1735689600


def _hostile_log(path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "model", "client_id", "input_tokens", "output_tokens"])
        for i in range(600):
            client = HOSTILE_CLIENTS[i % len(HOSTILE_CLIENTS)]
            writer.writerow([START + 7 * i, "=cmd|' /C calc'!A0", client, 10 + i % 50, 5])
        writer.writerow(["-5", "m", "=evil()", "1", "1"])  # a reject whose line starts with -
        writer.writerow(["@now", "m", "c", "1", "1"])
    return path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    out = directory / "out"
    run_all([str(_hostile_log(directory / "log.csv"))], out, RunOptions())
    return out


def _is_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("text", [*HOSTILE_CLIENTS, "", "''=x", "a=b", "-"])
def test_safe_cell_never_starts_a_formula_and_restores_exactly(text: str) -> None:
    cell = safe_cell(text)
    assert not _is_formula(cell) and "\x00" not in cell
    if "\x00" not in text:
        assert restore_cell(cell) == text
    if not _is_formula(text.lstrip("'")):
        assert cell == text.replace("\x00", "\\x00")  # other text is written as it is


def test_clients_csv_cells_are_text_and_counts_stay_numbers(hostile_run: Path) -> None:
    raw = (hostile_run / "profiles" / "clients.csv").read_bytes()
    assert b"\x00" not in raw
    rows = list(csv.DictReader(raw.decode().splitlines(keepends=True)))
    assert len(rows) == len(HOSTILE_CLIENTS)
    for row in rows:
        assert not any(_is_formula(cell) for cell in row.values()), row
        assert row["requests"].isdigit() and row["chunk"].isdigit()
    assert {restore_cell(r["client_id"]) for r in rows} == {
        c.replace("\x00", "\\x00") for c in HOSTILE_CLIENTS
    }
    assert {r["model"] for r in rows} == {"'=cmd|' /C calc'!A0"}


def test_profiles_read_back_with_the_original_names(hostile_run: Path) -> None:
    (model,) = load_profiles(RunDir(hostile_run))
    assert model.model == "=cmd|' /C calc'!A0"
    assert {c.name for c in model.clients} == {c.replace("\x00", "\\x00") for c in HOSTILE_CLIENTS}


def test_rejects_csv_is_spreadsheet_safe(hostile_run: Path) -> None:
    raw = (hostile_run / "rejects.csv").read_bytes()
    assert b"\x00" not in raw
    rows = list(csv.DictReader(raw.decode().splitlines(keepends=True)))
    assert len(rows) == 2
    for row in rows:
        assert not any(_is_formula(cell) for cell in row.values()), row
        assert row["line"].isdigit()
    assert {r["raw_text"][:3] for r in rows} == {"'-5", "'@n"}


def test_report_has_no_nul_byte(hostile_run: Path) -> None:
    assert b"\x00" not in (hostile_run / "report.html").read_bytes()


def test_generated_trace_is_spreadsheet_safe(hostile_run: Path, tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    result = runner.invoke(
        app, ["generate", str(hostile_run), "--duration", "4000", "-o", str(trace)]
    )
    assert result.exit_code == 0, result.output
    raw = trace.read_bytes()
    assert b"\x00" not in raw
    rows = list(csv.DictReader(raw.decode().splitlines(keepends=True)))
    assert len(rows) > 100
    for row in rows:
        assert not any(_is_formula(cell) for cell in row.values()), row
        float(row["timestamp"])
        int(row["input_tokens"])
    assert {restore_cell(r["client_id"]) for r in rows} <= {
        c.replace("\x00", "\\x00") for c in HOSTILE_CLIENTS
    }


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.synthetic import ClientSpec, generate

    directory = tmp_path_factory.mktemp("small")
    log = directory / "logs" / "log.csv"
    log.parent.mkdir()
    spec = ClientSpec("a", "m1", rate_rps=0.05, family="gamma", shape=1.0)
    log.write_text(generate([spec], duration_s=2 * 3600, seed=3).write_csv())
    out = directory / "logs" / "out"  # the run directory lies among the logs
    run_all([str(log.parent)], out, RunOptions())
    return out


@pytest.mark.parametrize(
    "target",
    ["summary.json", "rejects.csv", "profiles/clients.csv", "profiles/new.csv", "ingest/x.csv"],
)
def test_generate_refuses_the_run_directory_artefacts(small_run: Path, target: str) -> None:
    path = small_run / target
    before = path.read_bytes() if path.exists() else None
    result = runner.invoke(app, ["generate", str(small_run), "--duration", "60", "-o", str(path)])
    assert result.exit_code == 1
    assert "an artefact of the run directory" in result.output and "Hint:" in result.output
    assert (path.read_bytes() if path.exists() else None) == before


def test_generate_refuses_a_directory_and_a_missing_parent(small_run: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", str(small_run), "--duration", "60", "-o", str(tmp_path)]
    )
    assert result.exit_code == 1 and "is a directory" in result.output
    missing = tmp_path / "no" / "such" / "trace.csv"
    result = runner.invoke(
        app, ["generate", str(small_run), "--duration", "60", "-o", str(missing)]
    )
    assert result.exit_code == 1 and "does not exist" in result.output
    assert "mkdir -p" in result.output
    assert not (tmp_path / "no").exists()
    beside = small_run / "trace.csv"  # a new file of the user's own, next to the artefacts
    result = runner.invoke(
        app, ["generate", str(small_run), "--duration", "600", "-o", str(beside)]
    )
    assert result.exit_code == 0, result.output
    beside.unlink()


def test_run_directory_is_never_read_as_logs(small_run: Path, tmp_path: Path) -> None:
    # the fixture ran on the directory holding the logs and, below it, the run directory
    assert (
        runner.invoke(app, ["ingest", str(small_run.parent), "--out", str(small_run)]).exit_code
        == 0
    )
    import json

    summary = json.loads((small_run / "summary.json").read_text())
    assert [f["path"] for f in summary["files"]] == [str(small_run.parent / "log.csv")]
    for item in (small_run, small_run / "rejects.csv", small_run / "profiles" / "clients.csv"):
        result = runner.invoke(app, ["ingest", str(item), "--out", str(tmp_path / "o")])
        assert result.exit_code == 1, item
        assert "never read as logs" in result.output
    globbed = runner.invoke(
        app, ["ingest", str(small_run.parent / "**" / "*.csv"), "--out", str(tmp_path / "g")]
    )
    assert globbed.exit_code == 0, globbed.output
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert len(summary["files"]) == 1


def test_negative_seed_is_an_error_everywhere(small_run: Path) -> None:
    for args in (
        ["generate", str(small_run), "--duration", "60"],
        ["whatif", str(small_run), "--rpm", "10"],
        ["validate", str(small_run)],
        ["characterize", "--out", str(small_run)],
        ["run", "--out", str(small_run)],
    ):
        result = runner.invoke(app, [*args, "--seed", "-1"])
        assert result.exit_code == 1, args
        assert "Error:" in result.output and "seed" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "span", [["--duration", "inf"], ["--duration", "nan"], ["--duration", "60", "--start", "nan"]]
)
def test_a_span_that_is_not_a_finite_number_is_an_error(
    small_run: Path, tmp_path: Path, span: list[str]
) -> None:
    trace = tmp_path / "t.csv"
    result = runner.invoke(app, ["generate", str(small_run), *span, "-o", str(trace)])
    assert result.exit_code == 1, result.output
    assert "Error: --duration must be a positive number of seconds" in result.output
    assert not trace.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--duration", "inf"), ("--duration", "nan"), ("--start", "nan"), ("--rpm", "nan")],
)
def test_whatif_options_that_are_not_finite_numbers_are_errors(
    small_run: Path, option: str, value: str
) -> None:
    args = ["whatif", str(small_run), "--tpm", "100000", "--rpm", "10"]
    result = runner.invoke(app, [*args, option, value])
    assert result.exit_code == 1, result.output
    assert "Error: --" in result.output and option in result.output
    assert "Traceback" not in result.output and "give a quota" not in result.output
    assert not (small_run / "whatif.json").exists()


def test_huge_scale_is_refused_before_any_work(small_run: Path, tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    for args in (
        ["generate", str(small_run), "--duration", "3600", "--scale", "1e9", "-o", str(trace)],
        ["whatif", str(small_run), "--rpm", "10", "--scale", "1e9"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert f"more than the limit of {MAX_REQUESTS:,}" in result.output
        assert "Hint: Lower --scale" in result.output
    assert not trace.exists()


def test_damaged_meta_json_is_an_error(small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(small_run, out, ignore=shutil.ignore_patterns(".lock"))
    meta = out / "aggregate" / "meta.json"
    size = meta.stat().st_size
    meta.write_text("{" + " " * (size - 2) + "\n")  # same size: only the JSON reader sees it
    for args in (["generate", str(out), "--duration", "60"], ["whatif", str(out), "--rpm", "5"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert "meta.json is damaged: not valid JSON" in result.output
        assert "servechar aggregate --out" in result.output and "Traceback" not in result.output
    meta.write_text("[]\n")  # another size: the stamp check sees it first
    result = runner.invoke(app, ["fit", "--out", str(out)])
    assert result.exit_code == 1 and "meta.json has changed since `aggregate`" in result.output


def test_inspect_of_a_damaged_parquet_file_is_an_error(tmp_path: Path) -> None:
    import polars as pl

    good = tmp_path / "good.parquet"
    pl.DataFrame({"timestamp": [1.0, 2.0], "model": ["m", "m"]}).write_parquet(good)
    for name, data in (("cut.parquet", good.read_bytes()[:-40]), ("junk.parquet", b"PAR1xx")):
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(app, ["inspect", str(tmp_path / name)])
        assert result.exit_code == 1, name
        assert "not a readable Parquet file" in result.output and "Hint:" in result.output
        assert "Traceback" not in result.output
