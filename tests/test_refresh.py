"""`servechar refresh` and `prune`: a store of days updated dump by dump, versions published.

Ground truth: a seeded log of five UTC days, delivered as dumps (two days in one dump, late rows
of an older day, the same requests logged again by another dump, a dump delivered twice). Each
version must be, byte for byte, what `servechar run` gives over the same rows in one go.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline import RunOptions, run_all, summaries
from pipeline.refresh import LATEST, prune, refresh, stored_days
from pipeline.rundir import KILL_AT_ENV
from pipeline.synthetic import START, ClientSpec, generate

N_DAYS = 5
SPECS = [
    ClientSpec("c1", "m-a", rate_rps=0.012),
    ClientSpec("c2", "m-a", rate_rps=0.006, shape=0.5),
    ClientSpec("c3", "m-r", category="reason", rate_rps=0.008),
]


def _day(log: pl.DataFrame, day: int) -> pl.DataFrame:
    lo = START + timedelta(days=day)
    stamp = pl.col("timestamp").str.to_datetime(time_zone="UTC")
    return log.filter((stamp >= lo) & (stamp < lo + timedelta(days=1)))


def _shifted(rows: pl.DataFrame, seconds: int) -> pl.DataFrame:
    stamp = pl.col("timestamp").str.to_datetime(time_zone="UTC") + timedelta(seconds=seconds)
    return rows.with_columns(stamp.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").alias("timestamp"))


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """a: days 0 and most of day 1; b: day 2, plus rows of day 1 logged again (the same
    requests: copies, later retries that lose, one earlier record that wins); c: the late rest
    of day 1; e: days 3 and 4."""
    folder = tmp_path_factory.mktemp("dumps")
    log = generate(SPECS, duration_s=N_DAYS * 86_400, seed=11)
    day1 = _day(log, 1)
    late = day1.filter(pl.int_range(pl.len()) % 10 == 3)
    on_time = day1.filter(pl.int_range(pl.len()) % 10 != 3)
    copies = on_time.head(40)
    retries = _shifted(on_time.slice(100, 5), 3_600)  # same ids, an hour later: duplicates
    earlier = _shifted(on_time.slice(200, 1), -60)  # same id a minute earlier: replaces it
    files = {
        "a": pl.concat([_day(log, 0), on_time]),
        "b": pl.concat([_day(log, 2), copies, retries, earlier]),
        "c": late,
        "e": pl.concat([_day(log, 3), _day(log, 4)]),
    }
    paths = {}
    for name, frame in files.items():
        paths[name] = folder / f"dump-{name}.csv"
        frame.write_csv(paths[name])
    return paths


def _refresh_command(store: Path, dump: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "refresh", str(store), str(dump), "-q"]


def _options() -> RunOptions:
    return RunOptions()


@pytest.fixture(scope="module")
def store(dumps: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Refreshed with a, b, c, then c again (re-delivered under another name)."""
    root = tmp_path_factory.mktemp("refresh") / "store"
    refresh(root, [str(dumps["a"])], _options())
    refresh(root, [str(dumps["b"])], _options())
    refresh(root, [str(dumps["c"])], _options())
    return root


@pytest.fixture(scope="module")
def one_go(dumps: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one-go") / "run"
    run_all([str(dumps[n]) for n in "abc"], out, _options())
    return out


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _assert_same_outputs(version: Path, reference: Path, *, stats: bool = True) -> None:
    assert _tree_bytes(version / "profiles") == _tree_bytes(reference / "profiles")
    assert (version / "fits.json").read_bytes() == (reference / "fits.json").read_bytes()
    if stats:
        assert (version / "stats.json").read_bytes() == (reference / "stats.json").read_bytes()


def test_version_equals_one_run_over_the_same_rows(store: Path, one_go: Path) -> None:
    latest = store / LATEST
    assert latest.is_symlink()
    assert os.readlink(latest) == "versions/3"
    _assert_same_outputs(latest, one_go)
    account = json.loads((latest / "summary.json").read_text())
    reference = json.loads((one_go / "summary.json").read_text())
    for key in ("rows_read", "rows_accepted", "rows_rejected", "rejects_by_reason"):
        assert account[key] == reference[key], key
    assert account["rows_outside_span"] == 0
    # rows duplicated across dumps are listed as one run lists them: file, line, reason,
    # request id and raw text, byte for byte (40 copies and 5 retries in dump b lose to dump
    # a's rows; dump a's record of the request logged a minute earlier in b loses to it)
    rejects = (latest / "rejects.csv").read_text()
    assert rejects == (one_go / "rejects.csv").read_text()
    listed = pl.read_csv(latest / "rejects.csv").filter(pl.col("reason") == "duplicate_request_id")
    assert listed.height == 46 == account["rejects_by_reason"]["duplicate_request_id"]
    assert listed["source_file"].str.ends_with("dump-b.csv").sum() == 45


def test_late_rows_update_their_day_and_lineage_is_recorded(store: Path) -> None:
    version = store / "versions" / "3"
    lineage = json.loads((version / "manifest.json").read_text())["stages"]["refresh"]
    assert lineage["changed_days"] == ["2025-03-04"]  # the late rows' day only
    assert lineage["replaced"] == "versions/2"
    # what changed since the replaced version: servechar diff's files, inside the version
    diff = json.loads((version / "diff" / "diff.json").read_text())
    assert diff["format"] == "servechar.diff/1"
    assert lineage["diff"]["path"] == "diff" and (version / "diff" / "diff.html").is_file()
    assert lineage["diff"]["material"] is diff["verdict"]["material"]
    assert not (store / "versions" / "1" / "diff").exists()  # the first replaced nothing
    assert lineage["days"] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert [len(d["files"]) for d in lineage["dumps"]] == [1, 1, 1]
    files = [f for d in lineage["dumps"] for f in d["files"]]
    assert [f["file_index"] for f in files] == [0, 1, 2]  # numbered in delivery order
    assert all(f["format"] == "csv" and f["bytes"] > 0 and len(f["sha256"]) == 64 for f in files)
    # the report's input table reads the version's ingest record
    ingest_inputs = json.loads((version / "manifest.json").read_text())["stages"]["ingest"]
    assert ingest_inputs["inputs"] == files
    assert (
        sum(d["rows_read"] for d in lineage["dumps"])
        == json.loads((version / "summary.json").read_text())["rows_read"]
    )
    # the two unchanged days' summaries came from the store, every topic of them
    reused = lineage["reused_parts"]
    assert sorted(reused) == ["2025-03-03", "2025-03-05"]
    assert all(len(topics) == len(summaries.topics()) for topics in reused.values())
    assert stored_days(store) == ["2025-03-03", "2025-03-04", "2025-03-05"]
    # the windows of the unchanged days kept their fits; the changed day's were fitted again
    fit = json.loads((version / "manifest.json").read_text())["stages"]["fit"]
    assert 0 < fit["windows_fit_reused"] < fit["windows"]["fitted"]


def test_redelivered_dump_changes_nothing(store: Path, dumps: dict[str, Path], tmp_path) -> None:
    again = tmp_path / "renamed.csv"
    shutil.copyfile(dumps["c"], again)
    before = _tree_bytes(store / "days")
    result = refresh(store, [str(again)], _options())
    assert result.redelivered and result.version is None and result.changed_days == ()
    assert _tree_bytes(store / "days") == before
    assert os.readlink(store / LATEST) == "versions/3"
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "refresh", str(store), str(again), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "already in the store: nothing added" in completed.stderr


def test_dump_of_rows_already_stored_changes_no_day(
    store: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "store"
    shutil.copytree(store, copy, symlinks=True)
    repeated = tmp_path / "repeated.csv"
    pl.read_csv(dumps["c"]).head(25).write_csv(repeated)  # another dump, the same requests
    before = _tree_bytes(copy / "days")
    result = refresh(copy, [str(repeated)], _options())
    assert not result.redelivered and result.changed_days == () and result.version is None
    assert _tree_bytes(copy / "days") == before
    record = json.loads((copy / "dumps" / result.dump / "dump.json").read_text())
    assert record["duplicates_of_stored"] == 25


def test_span_moves_recomputes_exactly_and_kill_leaves_latest(
    store: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    """Days 3 and 4 arrive with --days 3: the span (and the origin, and the first arrival of
    each model) moves. A refresh killed while building the version leaves `latest`; the next
    one publishes a version equal to one run over the span's rows."""
    moved = tmp_path / "store"
    shutil.copytree(store, moved, symlinks=True)
    env = {**os.environ, KILL_AT_ENV: "fit:publish"}
    command = [sys.executable, "-m", "pipeline", "refresh", str(moved), str(dumps["e"])]
    killed = subprocess.run([*command, "--days", "3", "--quiet"], env=env, check=False)
    assert killed.returncode == -9
    assert os.readlink(moved / LATEST) == "versions/3"
    assert (moved / LATEST / "stats.json").read_bytes() == (
        store / LATEST / "stats.json"
    ).read_bytes()

    result = refresh(moved, [str(dumps["e"])], _options(), days=3)
    assert result.redelivered  # the killed refresh had already stored the dump's days
    assert result.days == ("2025-03-05", "2025-03-06", "2025-03-07")
    assert os.readlink(moved / LATEST) == "versions/4"  # the unfinished one was removed

    span_rows = tmp_path / "span.csv"
    frames = [pl.read_csv(dumps[n]) for n in "abce"]
    stamp = pl.col("timestamp").str.to_datetime(time_zone="UTC")
    pl.concat(frames).filter(stamp >= START + timedelta(days=2)).write_csv(span_rows)
    reference = tmp_path / "reference"
    run_all([str(span_rows)], reference, _options())
    # rows_read counts the whole dumps in a version (docs/refresh.md), so compare the rest
    _assert_same_outputs(moved / LATEST, reference, stats=False)
    ours = json.loads((moved / LATEST / "stats.json").read_text())
    theirs = json.loads((reference / "stats.json").read_text())
    for key in ("rows_read", "rows_accepted", "rows_rejected", "rejects_by_reason"):
        ours["overview"].pop(key), theirs["overview"].pop(key)
    assert ours == theirs
    reused = json.loads((moved / LATEST / "manifest.json").read_text())["stages"]["refresh"][
        "reused_parts"
    ]
    # the origin moved by whole days: the origin-indexed topics of the old day were shifted
    assert {"arrival_times", "arrival_windows", "length_values"} <= set(reused["2025-03-05"])
    # and the old day's windows, at new window indexes, kept their fits
    fit = json.loads((moved / LATEST / "manifest.json").read_text())["stages"]["fit"]
    assert fit["windows_fit_reused"] > 0

    pruned = prune(moved, keep_days=3)
    assert pruned.removed_days == ("2025-03-03", "2025-03-04")
    assert stored_days(moved) == ["2025-03-05", "2025-03-06", "2025-03-07"]
    assert (moved / "versions" / "3" / "stats.json").is_file()  # versions stay intact


def test_day_summaries_of_the_previous_contract_are_summarised_again(
    store: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    """A store whose days were summarised under servechar.summaries/1 (arrival_times as one
    list per client window): the next refresh summarises that topic of those days again from
    the stored requests, reuses the others, and gives the version of an up-to-date store."""
    old, current = tmp_path / "old", tmp_path / "current"
    shutil.copytree(store, old, symlinks=True)
    shutil.copytree(store, current, symlinks=True)
    con = duckdb.connect()
    sidecars = sorted((old / "days").glob("*/summaries/arrival_times/part-*.json"))
    assert len(sidecars) == 3
    for sidecar in sidecars:
        part = sidecar.with_suffix(".parquet")
        lists = con.read_parquet(str(part)).aggregate(
            "category, model, client_id, window_index, "
            "list(arrival_us order by arrival_us) as arrival_us",
            "category, model, client_id, window_index",
        )
        lists.order("category, model, client_id, window_index").write_parquet(str(part))
        record = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**record, "format": "servechar.summaries/1"}))
    con.close()

    refresh(old, [str(dumps["e"])], _options())
    refresh(current, [str(dumps["e"])], _options())
    _assert_same_outputs(old / LATEST, current / LATEST)
    reused = json.loads((old / LATEST / "manifest.json").read_text())["stages"]["refresh"][
        "reused_parts"
    ]
    assert sorted(reused) == ["2025-03-03", "2025-03-04", "2025-03-05"]
    for topics in reused.values():
        assert "arrival_times" not in topics and "arrival_windows" in topics
    # the days' summaries were stored again, in this version
    for sidecar in sidecars:
        assert json.loads(sidecar.read_text())["format"] == summaries.SUMMARIES_FORMAT


def test_killed_after_commit_is_rolled_forward(
    store: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    """Killed at the commit point (the update prepared and renamed, not yet moved into place):
    the next command on the store completes the update; `latest` never moved."""
    copy = tmp_path / "store"
    shutil.copytree(store, copy, symlinks=True)
    env = {**os.environ, KILL_AT_ENV: "refresh:commit"}
    command = [sys.executable, "-m", "pipeline", "refresh", str(copy), str(dumps["e"]), "-q"]
    assert subprocess.run(command, env=env, check=False).returncode == -9
    assert (copy / ".commit").is_dir()
    assert stored_days(copy) == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert os.readlink(copy / LATEST) == "versions/3"
    prune(copy, keep_days=30)  # any command on the store rolls the commit forward first
    assert not (copy / ".commit").exists()
    assert stored_days(copy)[-2:] == ["2025-03-06", "2025-03-07"]
    assert json.loads((copy / "store.json").read_text())["generation"] == 4


def test_refused_with_other_options_or_on_a_run_directory(
    store: Path, one_go: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    other = tmp_path / "store"
    other.mkdir()
    shutil.copyfile(store / "store.json", other / "store.json")
    completed = subprocess.run(
        [*_refresh_command(other, dumps["c"]), "--window", "300"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "Error:" in completed.stderr and "aggregate.window_s" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (other / "dumps").exists()  # nothing was ingested
    completed = subprocess.run(
        _refresh_command(one_go, dumps["c"]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0 and "is a run directory" in completed.stderr


def test_finished_version_left_unpublished_is_published_next(
    store: Path, dumps: dict[str, Path], tmp_path: Path
) -> None:
    """Killed after the version was complete, before `latest` switched (as if `latest` still
    pointed at versions/2): the next refresh publishes versions/3 without building again."""
    copy = tmp_path / "store"
    shutil.copytree(store, copy, symlinks=True)
    (copy / LATEST).unlink()
    (copy / LATEST).symlink_to("versions/2")
    result = refresh(copy, [str(dumps["c"])], _options())
    assert result.redelivered and result.version is None
    assert os.readlink(copy / LATEST) == "versions/3"
    assert sorted(p.name for p in (copy / "versions").iterdir()) == ["1", "2", "3"]


def test_cross_dump_duplicate_of_a_file_no_longer_delivered(
    dumps: dict[str, Path], one_go: Path, tmp_path: Path
) -> None:
    """Dump a's file is gone when dump b arrives with an earlier record of one of its
    requests: a's row is still listed (file, line, reason, request id as one run lists it),
    its raw text empty since nothing holds it any more."""
    moved = tmp_path / "dump-a.csv"
    shutil.copyfile(dumps["a"], moved)
    root = tmp_path / "store"
    refresh(root, [str(moved)], _options())
    moved.unlink()
    refresh(root, [str(dumps["b"])], _options())
    ours = pl.read_csv(root / LATEST / "rejects.csv", infer_schema=False)
    theirs = pl.read_csv(one_go / "rejects.csv", infer_schema=False)
    lost = ours.filter(pl.col("source_file") == str(moved))
    assert lost.height == 1 and lost["raw_text"].to_list() == [None]
    reference = theirs.filter(pl.col("source_file") == str(dumps["a"]))
    assert (
        lost.select("line", "reason", "detail").rows()
        == reference.select("line", "reason", "detail").rows()
    )
    assert reference["raw_text"].str.contains(reference["detail"][0].split("=")[1]).all()
    # dump b's 45 rows that lose to dump a's keep their raw text
    from_b = ours.filter(pl.col("source_file") == str(dumps["b"]))
    assert from_b.height == 45 and from_b["raw_text"].is_not_null().all()
