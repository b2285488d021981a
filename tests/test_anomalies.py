"""Anomalies against ground truth: seeded three-day logs with 31 injected events (spikes x3
for 20 minutes, dips, client outages, a level shift, latency regressions, bursts of 429 and
5xx) over a daily cycle that is not an anomaly, through ingest, aggregate and the anomalies
stage; the same log without injected events; `--since`; the report's table.

Matching rules (5-minute bins, so "two bins" is 10 minutes):
- recall: an injected event is found when the injected client's own series has an event of
  the right kind in the right metric (a spike in requests for a spike, an outage in requests
  for an outage, a spike in the 429 share for a burst of 429s, in TTFT p50 for a latency
  regression, ...) whose start and end are within two bins of the injected ones (a level
  shift: its start; it lasts to the end of the log);
- precision: a detected event is true when it overlaps (within two bins) an injected event
  of its model, in the injected client's series or in the model's aggregate;
- a model-level event matched to an injected event names the injected client first in
  `share_of_change`.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config import AggregateOptions, AnomaliesOptions, EngineOptions, IngestOptions
from pipeline.rundir import RunDir
from pipeline.stages import aggregate, anomalies, ingest
from tests.anomaly_logs import START, Injected, generate_log, injected_events

BIN_S = 300
TOLERANCE_S = 2 * BIN_S
MIN_RECALL = 0.9
MIN_PRECISION = 0.9
ENGINE = EngineOptions(threads=1)
PRIMARY = {  # injected kind -> (metric, detected kind) in the injected client's own series
    "spike": ("requests_per_minute", "spike"),
    "dip": ("requests_per_minute", "dip"),
    "outage": ("requests_per_minute", "outage"),
    "level_shift": ("requests_per_minute", "level_shift"),
    "latency": ("ttft_p50_ms", "spike"),
    "burst_429": ("share_429", "spike"),
    "burst_5xx": ("share_5xx", "spike"),
}


def _run(log: Path, out: Path, options: AnomaliesOptions | None = None) -> dict[str, Any]:
    run_dir = RunDir(out)
    ingest.run(run_dir, [str(log)], IngestOptions(), ENGINE)
    aggregate.run(run_dir, AggregateOptions(), ENGINE)
    anomalies.run(run_dir, options or AnomaliesOptions(), ENGINE)
    return json.loads((out / "anomalies.json").read_text())


@pytest.fixture(scope="module")
def event_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("anomalies")
    log = generate_log(directory / "events.csv", events=injected_events(), seed=3)
    _run(log, directory / "run")
    return directory / "run"


@pytest.fixture(scope="module")
def found(event_run: Path) -> dict[str, Any]:
    return json.loads((event_run / "anomalies.json").read_text())


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() - START.timestamp()


def _overlaps(event: dict[str, Any], injected: Injected) -> bool:
    start, end = _seconds(event["start"]), _seconds(event["end"])
    return start < injected.end_s + TOLERANCE_S and end > injected.start_s - TOLERANCE_S


def _is_found(injected: Injected, events: list[dict[str, Any]]) -> bool:
    metric, kind = PRIMARY[injected.kind]
    for event in events:
        if (event["model"], event["client"], event["metric"], event["kind"]) != (
            injected.model,
            injected.client,
            metric,
            kind,
        ):
            continue
        start_ok = abs(_seconds(event["start"]) - injected.start_s) <= TOLERANCE_S
        end_ok = abs(_seconds(event["end"]) - injected.end_s) <= TOLERANCE_S
        if start_ok and (end_ok or injected.kind == "level_shift"):
            return True
    return False


def _causes(event: dict[str, Any], truth: list[Injected]) -> list[Injected]:
    return [
        injected
        for injected in truth
        if injected.model == event["model"]
        and event["client"] in (None, injected.client)
        and _overlaps(event, injected)
    ]


def test_injected_events_are_found_with_their_bounds(found: dict[str, Any]) -> None:
    truth = injected_events()
    assert len(truth) >= 20
    missed = [i for i in truth if not _is_found(i, found["events"])]
    recall = 1 - len(missed) / len(truth)
    assert recall >= MIN_RECALL, f"recall {recall:.2f}; missed {missed}"


def test_detected_events_are_injected_ones(found: dict[str, Any]) -> None:
    truth = injected_events()
    events = found["events"]
    false = [e for e in events if not _causes(e, truth)]
    precision = 1 - len(false) / len(events)
    assert precision >= MIN_PRECISION, f"precision {precision:.2f}; false {false}"
    # every kind of injected event shows up, and nothing on the level shift's client
    # before it started (the daily cycle is no anomaly)
    assert {e["kind"] for e in events} == {"spike", "dip", "outage", "level_shift"}


def test_model_level_events_name_the_causing_client(found: dict[str, Any]) -> None:
    truth = injected_events()
    checked = 0
    for event in found["events"]:
        causes = _causes(event, truth)
        if event["client"] is not None or len(causes) != 1:
            continue
        shares = event["share_of_change"]
        assert shares, event
        assert shares[0]["client"] == causes[0].client, event
        assert 0 < shares[0]["share"] <= 1 and len(shares) <= 3
        assert [s["share"] for s in shares] == sorted((s["share"] for s in shares), reverse=True)
        checked += 1
    assert checked >= 10
    assert all(e["share_of_change"] is None for e in found["events"] if e["client"] is not None)


def test_document_format_and_series(found: dict[str, Any]) -> None:
    assert found["format"] == "servechar.anomalies/1"
    keys = {"model", "client", "metric", "kind", "start", "end", "observed", "expected"}
    for event in found["events"]:
        assert keys | {"score", "share_of_change"} == set(event)
        assert event["start"].endswith("Z") and event["start"] < event["end"]
        assert event["score"] > 0
    analysed = found["series"]["analysed"]
    # two models x (aggregate + their clients) x seven metrics, every one with 3 days: STL
    assert len(analysed) == (1 + 3 + 1 + 2) * 7
    assert {s["method"] for s in analysed} == {"stl"}
    timelines = {t["model"]: t for t in found["series"]["timelines"]}
    assert set(timelines) == {"chat", "code"}
    assert len(timelines["chat"]["observed"]) == len(timelines["chat"]["expected"])


def test_outage_and_spike_values(found: dict[str, Any]) -> None:
    """An outage observes nothing where requests were expected; a x3 spike about triples."""
    outages = [e for e in found["events"] if e["kind"] == "outage"]
    assert outages and all(e["observed"] < 0.1 * e["expected"] for e in outages)
    spikes = [
        e
        for e in found["events"]
        if e["kind"] == "spike" and e["metric"] == "requests_per_minute" and e["client"]
    ]
    ratios = [e["observed"] / e["expected"] for e in spikes]
    assert spikes and 2.0 < float(np.median(ratios)) < 4.0


@pytest.fixture(scope="module")
def quiet_found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("quiet")
    log = generate_log(directory / "quiet.csv", events=[], seed=4)
    return _run(log, directory / "run")


def test_a_log_without_anomalies_has_at_most_one_event_per_series_week(
    quiet_found: dict[str, Any],
) -> None:
    scored = [s for s in quiet_found["series"]["analysed"] if s["status"] == "ok"]
    weeks = 3 / 7
    assert len(scored) == 49
    assert len(quiet_found["events"]) <= len(scored) * weeks
    assert all(s["n_events"] <= 1 for s in scored), [s for s in scored if s["n_events"] > 1]


def test_since_scores_only_the_recent_part(event_run: Path, tmp_path: Path) -> None:
    since_s = 50 * 3600  # two days of history: the daily pattern is known
    out = tmp_path / "since"
    shutil.copytree(event_run, out, ignore=shutil.ignore_patterns(".lock", ".tmp"))
    since = datetime.fromtimestamp(START.timestamp() + since_s).astimezone().isoformat()
    anomalies.run(RunDir(out), AnomaliesOptions(since=since), ENGINE)
    recent = json.loads((out / "anomalies.json").read_text())
    assert recent["series"]["scored_from"] == "2025-03-05T02:00:00Z"
    assert recent["events"] and all(_seconds(e["start"]) >= since_s for e in recent["events"])
    later = [i for i in injected_events() if i.start_s >= since_s + TOLERANCE_S]
    assert len(later) >= 8
    assert sum(_is_found(i, recent["events"]) for i in later) >= MIN_RECALL * len(later)


def test_since_needs_history_and_an_instant_inside_the_log(event_run: Path) -> None:
    from pipeline.errors import ConfigError

    for since, message in (
        ("2025-03-03T01:00:00Z", "too little history"),
        ("2025-03-03T20:00:00Z", "a whole day"),  # less than one daily cycle before it
        ("2025-04-01T00:00:00Z", "not before the log's last whole bin"),
        ("yesterday", "neither epoch seconds nor ISO-8601"),
    ):
        with pytest.raises(ConfigError, match=message):
            anomalies.run(RunDir(event_run), AnomaliesOptions(since=since), ENGINE)


def test_the_report_opens_each_model_with_its_anomalies(found: dict[str, Any]) -> None:
    from reports.blocks import ReportInputs
    from reports.build import assemble, render
    from reports.sections.models import models_section

    stats = {"models": [{"model": "chat", "category": "language"}, {"model": "code"}]}
    sections = assemble(ReportInputs(stats, {}, {}, anomalies=found), (models_section,))
    chat = sections[0].children[0]
    assert chat.children[0].title == "Anomalies"
    html, n_figures = render(sections, "t")
    assert n_figures == 2  # one timeline per model
    assert html.count("Anomalies: when, what, how big, which clients") == 2
    # the client named <script>alert(1)</script> is in the table, escaped, and nowhere raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "outage in requests per minute" in html and "all clients" in html


def test_the_cli_scores_a_run_directory(event_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "cli"
    shutil.copytree(event_run, out, ignore=shutil.ignore_patterns(".lock", ".tmp"))
    runner = CliRunner()
    result = runner.invoke(app, ["anomalies", str(out), "--since", "2025-03-05T02:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(out / "anomalies.json")]
    assert " events in 49 series" in result.stderr
    bad = runner.invoke(app, ["anomalies", str(out), "--bin-minutes", "7"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("Error: --bin-minutes: must divide 60")
    assert "Traceback" not in bad.output


def test_latency_percentiles_from_the_histograms_are_within_their_stated_accuracy(
    event_run: Path,
) -> None:
    """Per-bin TTFT p50/p99 from the merged eighth-octave histograms against the exact
    nearest-rank percentiles of the same requests (from the log itself)."""
    import math

    import polars as pl

    from pipeline import sqlrun
    from pipeline.stages.anomalies import open_minute_summaries
    from pipeline.stages.ingest import connect

    con = connect(RunDir(event_run), ENGINE)
    try:
        open_minute_summaries(con, RunDir(event_run))
        sqlrun.query(con, "anomalies/top_clients", {"top_clients": 10}).to_table("top_clients")
        bins = sqlrun.query(con, "anomalies/bin_series", {"bin_minutes": 5}).pl()
    finally:
        con.close()
    log = pl.read_csv(event_run.parent / "events.csv").filter(
        (pl.col("model") == "code") & (pl.col("client_id") == "hooli") & (pl.col("status") == 200)
    )
    start_us = int(START.timestamp() * 1e6)
    offsets = log["timestamp"].str.to_datetime(time_zone="UTC").dt.epoch("us") - start_us
    log = log.with_columns((offsets // 300_000_000).alias("bin_index"))
    ours = bins.filter((pl.col("model") == "code") & (pl.col("client_id") == "hooli"))
    accuracy = 2 ** (1 / 16) - 1
    compared = 0
    for row in ours.filter(pl.col("n_ttft") >= 20).iter_rows(named=True):
        values = np.sort(log.filter(pl.col("bin_index") == row["bin_index"])["ttft_ms"].to_numpy())
        assert values.size == row["n_ttft"]
        for p, column in ((0.5, "ttft_p50_ms"), (0.99, "ttft_p99_ms")):
            exact = values[math.ceil(p * values.size) - 1]
            assert abs(row[column] / exact - 1) <= accuracy + 1e-9, (row, exact)
        compared += 1
    assert compared > 500


def test_anonymized_runs_name_clients_by_their_pseudonyms(event_run: Path, tmp_path: Path) -> None:
    from pipeline.errors import ConfigError
    from pipeline.naming import pseudonym

    out = tmp_path / "anon"
    shutil.copytree(event_run, out, ignore=shutil.ignore_patterns(".lock", ".tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["stages"]["export"] = {"options": {"anonymize": True}}  # as export --anonymize
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="exported with --anonymize"):
        anomalies.run(RunDir(out), AnomaliesOptions(), ENGINE)
    anomalies.run(RunDir(out), AnomaliesOptions(anonymize=True, salt="s3cret"), ENGINE)
    text = (out / "anomalies.json").read_text()
    for name in ("acme", "globex", "hooli", "stark", "alert(1)"):
        assert name not in text
    named = {e["client"] for e in json.loads(text)["events"]} - {None}
    assert pseudonym("acme", "s3cret") in named
    assert "s3cret" not in (out / "manifest.json").read_text()


def test_weekly_decompositions_in_processes_equal_those_in_this_process() -> None:
    # over two weeks a series' baseline is MSTL (GIL-bound): worker processes share the
    # series out, and each must come back exactly as it is computed here
    from fitting.anomalies import SeriesJob, has_weekly_baseline

    settings = anomalies.settings_for(AnomaliesOptions())
    n = 15 * 24 * 12  # 15 days of 5-minute bins
    hours = np.arange(n) / 12
    rng = np.random.default_rng(7)
    jobs = []
    for level in (20.0, 35.0, 50.0, 80.0):
        rate = level * (1 + 0.5 * np.sin(2 * np.pi * hours / 24)) * (1 + 0.2 * (hours > 120))
        values = rng.poisson(rate).astype(np.float64)
        values[n // 2 : n // 2 + 6] *= 4  # a spike
        jobs.append(SeriesJob(values, "count", settings, None, n - 12 * 12, 1))
    assert has_weekly_baseline(n, n - 12 * 12, settings)
    here = anomalies.detect_series(jobs, processes=1)
    spread = anomalies.detect_series(jobs, processes=2)
    assert [r.method for r in here] == ["mstl"] * len(jobs)
    for mine, theirs in zip(here, spread, strict=True):
        assert mine.events == theirs.events and mine.shifts == theirs.shifts
        assert np.array_equal(mine.expected, theirs.expected, equal_nan=True)
        assert np.array_equal(mine.score, theirs.score, equal_nan=True)
        assert (mine.status, mine.n_valid, mine.sigma) == (
            theirs.status,
            theirs.n_valid,
            theirs.sigma,
        )


def test_exactly_two_weeks_of_history_is_scored_with_the_daily_period() -> None:
    # MSTL drops a period not shorter than half the series: at exactly 336 fitted hours the
    # weekly one would go and its seasonal term lose a column (this raised an AxisError)
    from fitting.anomalies import detect, has_weekly_baseline

    settings = anomalies.settings_for(AnomaliesOptions())
    n = 15 * 24 * 12
    hours = np.arange(n) / 12
    values = np.random.default_rng(3).poisson(30 * (1 + 0.5 * np.sin(2 * np.pi * hours / 24)))
    two_weeks = 14 * 24 * 12
    assert not has_weekly_baseline(n, two_weeks, settings)
    assert has_weekly_baseline(n, two_weeks + 12, settings)
    assert detect(values.astype(np.float64), "count", settings, score_from=two_weeks).method == (
        "stl"
    )
    later = detect(values.astype(np.float64), "count", settings, score_from=two_weeks + 12)
    assert later.method == "mstl" and later.status == "ok"
