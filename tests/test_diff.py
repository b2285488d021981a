"""`servechar diff`: ground truth from seeded logs in which chosen clients change on a known day.

OLD holds days 1-2 and NEW days 3-4 of the same 30 unchanged clients (each run with its own
seed, so the unchanged ones differ only by sampling noise) plus clients whose rate doubles,
whose burstiness grows (Gamma shape 1 -> 0.35, CV 1 -> 1.7), whose outputs grow longer
(exponential mean 200 -> 300 tokens), one that appears and one that vanishes. The diff must
flag every changed client with the right metric, at most one unchanged client in 30, and
nothing at all for identical inputs.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all
from pipeline.cli import app
from pipeline.diff import DiffOptions, diff_runs
from pipeline.synthetic import START, ClientSpec, generate

runner = CliRunner()
DAYS = 2
HOSTILE = '<script>alert("x")</script>&amp;'


def _unchanged() -> list[ClientSpec]:
    """30 clients of varied rate, burstiness, daily cycle and lengths, the same in both runs."""
    specs = []
    for k in range(30):
        model, category = ("chat", "language") if k < 20 else ("thinker", "reason")
        specs.append(
            ClientSpec(
                f"steady-{k:02d}",
                model,
                category=category,
                rate_rps=(0.006, 0.01, 0.02)[k % 3],
                family=("gamma", "weibull_min")[k % 2],
                shape=(0.6, 1.0, 2.0, 0.8)[k % 4],
                diurnal_amplitude=(0.0, 0.5)[k % 2],
                input_lognormal=(5.5 + 0.1 * (k % 5), 0.7),
                output_mean=150.0 + 10 * (k % 4),
            )
        )
    return specs


def _specs(period: str) -> list[ClientSpec]:
    old = period == "old"
    specs = _unchanged()
    specs += [
        ClientSpec("doubler", "chat", rate_rps=0.015 if old else 0.03, shape=1.0),
        ClientSpec("burster", "chat", rate_rps=0.05, shape=1.0 if old else 0.35),
        ClientSpec("verbose", "chat", rate_rps=0.015, output_mean=200.0 if old else 300.0),
    ]
    specs.append(
        ClientSpec("leaver", "chat", rate_rps=0.02)
        if old
        else ClientSpec("joiner", "thinker", category="reason", rate_rps=0.02)
    )
    specs.append(ClientSpec(HOSTILE, "chat", rate_rps=0.006))  # unchanged; shown as text
    return specs


CHANGED = {"doubler": "rate", "burster": "cv", "verbose": "output_tokens"}


def _run(tmp: Path, period: str, seed: int) -> Path:
    start = START + timedelta(days=0 if period == "old" else DAYS)
    log = generate(_specs(period), duration_s=DAYS * 86_400, seed=seed, start=start)
    source = tmp / f"{period}.csv"
    log.write_csv(source)
    out = tmp / f"run-{period}"
    run_all([str(source)], out, RunOptions())
    return out


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("diff_runs")
    return _run(tmp, "old", seed=11), _run(tmp, "new", seed=12)


@pytest.fixture(scope="session")
def diffed(runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    old, new = runs
    return diff_runs(old, new, tmp_path_factory.mktemp("diff") / "d")


def _clients(document: dict) -> dict[str, dict]:
    return {c["client"]: c for m in document["models"] for c in m["clients"]}


def test_every_changed_client_is_flagged_with_its_metric(diffed) -> None:
    clients = _clients(diffed.document)
    for name, metric in CHANGED.items():
        client = clients[name]
        material = [c["metric"] for c in client["changes"] if c["material"]]
        assert client["status"] == "changed", (name, client)
        assert metric in material, (name, material)
    assert clients["joiner"]["status"] == "new" and clients["joiner"]["material"]
    assert clients["leaver"]["status"] == "gone" and clients["leaver"]["material"]
    doubled = next(c for c in clients["doubler"]["changes"] if c["metric"] == "rate")
    assert doubled["effect"]["ratio"] == pytest.approx(2.0, rel=0.15)
    longer = next(c for c in clients["verbose"]["changes"] if c["metric"] == "output_tokens")
    assert longer["effect"]["mean_ratio"] == pytest.approx(1.5, rel=0.1)
    # the rate of the burstier client did not change, nor the lengths of the doubled one
    burster = {c["metric"]: c for c in clients["burster"]["changes"]}
    assert not burster["rate"]["material"]
    doubler = {c["metric"]: c for c in clients["doubler"]["changes"]}
    assert not doubler["output_tokens"]["material"] and not doubler["input_tokens"]["material"]


def test_at_most_one_unchanged_client_in_thirty_is_flagged(diffed) -> None:
    clients = _clients(diffed.document)
    steady = [c for name, c in clients.items() if name.startswith("steady-")]
    assert len(steady) == 30
    flagged = [c["client"] for c in steady if c["material"]]
    assert len(flagged) <= 1, flagged
    assert not clients[HOSTILE]["material"]


def test_verdict_and_drivers_at_the_top(diffed) -> None:
    document = diffed.document
    assert list(document)[:4] == ["format", "old", "new", "verdict"]
    assert document["format"] == "servechar.diff/1"
    verdict = document["verdict"]
    assert verdict["material"] is True and diffed.material
    by_model = {m["model"]: m for m in verdict["models"]}
    assert by_model["chat"]["status"] == "changed"
    assert set(CHANGED) | {"leaver"} <= set(by_model["chat"]["drivers"])
    assert "joiner" in by_model["thinker"]["drivers"]
    assert verdict["clients"]["new"] == 1 and verdict["clients"]["gone"] == 1
    # drivers come by how much they moved the model's rate: -1,728/day, then +1,296/day
    assert by_model["chat"]["drivers"][:2] == ["leaver", "doubler"]


def test_change_records_have_the_documented_keys(diffed) -> None:
    keys = {"metric", "old", "new", "effect", "p_value", "q_value", "material"}
    for model in diffed.document["models"]:
        assert {"model", "category", "status", "material", "clients"} <= set(model)
        for client in model["clients"]:
            assert client["status"] in ("new", "gone", "changed", "unchanged")
            for change in client["changes"]:
                assert set(change) == keys
                if change["q_value"] is not None:  # BH q-values are never below p-values
                    assert change["q_value"] >= change["p_value"]


def test_identical_inputs_give_nothing_material(runs, tmp_path: Path) -> None:
    old, _ = runs
    result = diff_runs(old, old, tmp_path / "same")
    assert not result.material
    assert result.counts == {"new": 0, "gone": 0, "changed": 0, "unchanged": 35}
    for change in (c for m in result.document["models"] for c in m["changes"]):
        assert not change["material"]


def test_output_is_deterministic(runs, diffed, tmp_path: Path) -> None:
    old, new = runs
    again = diff_runs(old, new, tmp_path / "again")
    assert again.json_path.read_bytes() == diffed.json_path.read_bytes()
    assert again.html_path.read_bytes() == diffed.html_path.read_bytes()


def test_hostile_client_id_is_escaped_in_html(diffed) -> None:
    html = diffed.html_path.read_text("utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;amp;" in html
    assert re.search(r"<[a-z]+[^>]*\son\w+=", html) is None  # no event handler attributes


def test_thresholds_are_options(runs, tmp_path: Path) -> None:
    old, new = runs
    loose = DiffOptions(rate_threshold=1.5, cv_threshold=5.0, median_threshold=5.0, ks_threshold=1)
    result = diff_runs(old, new, tmp_path / "loose", loose)
    clients = _clients(result.document)
    assert all(not clients[name]["material"] for name in CHANGED)
    assert clients["joiner"]["material"]  # a new client stays material above its share
    share = clients["joiner"]["changes"][0]["new"]["share_of_model"]
    assert 0.01 < share < 0.2
    rare = loose.model_copy(update={"min_client_share": 0.2})
    result = diff_runs(old, new, tmp_path / "rare", rare)
    clients = _clients(result.document)
    assert clients["joiner"]["status"] == "new" and not clients["joiner"]["material"]
    assert clients["leaver"]["status"] == "gone" and not clients["leaver"]["material"]
    assert not result.material


def test_cli_fail_on_material_exits_3_and_prints_paths(runs, tmp_path: Path) -> None:
    old, new = runs
    out = tmp_path / "cli"
    result = runner.invoke(
        app, ["diff", str(old), str(new), "--out", str(out), "--fail-on", "material"]
    )
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [str(out / "diff.json"), str(out / "diff.html")]
    assert "doubler" in result.stderr
    document = json.loads((out / "diff.json").read_text("utf-8"))
    assert document["verdict"]["material"] is True
    same = runner.invoke(
        app, ["diff", str(old), str(old), "--out", str(tmp_path / "s"), "--fail-on", "material"]
    )
    assert same.exit_code == 0, same.output
    quiet = runner.invoke(
        app, ["diff", str(old), str(old), "--out", str(tmp_path / "q"), "--quiet"]
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout.splitlines()[0] == str(tmp_path / "q" / "diff.json")


def test_cli_user_mistakes_are_error_lines(runs, tmp_path: Path) -> None:
    old, _ = runs
    not_run = tmp_path / "plain"
    not_run.mkdir()
    result = runner.invoke(app, ["diff", str(not_run), str(old), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: OLD {not_run} is not a run directory")
    assert "Hint: " in result.stderr and "Traceback" not in result.stderr
    bad = runner.invoke(
        app, ["diff", str(old), str(old), "--out", str(tmp_path / "d"), "--fail-on", "sometimes"]
    )
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: --fail-on")
    negative = runner.invoke(
        app, ["diff", str(old), str(old), "--out", str(tmp_path / "d"), "--alpha", "2"]
    )
    assert negative.exit_code == 1 and negative.stderr.startswith("Error: --alpha")
    inside = runner.invoke(app, ["diff", str(old), str(old), "--out", str(old / "profiles")])
    assert inside.exit_code == 1 and "an artefact of the run directory" in inside.stderr
    assert not (old / "profiles" / "diff.json").exists()


def test_missing_artefact_and_other_windows_are_errors(runs, tmp_path: Path) -> None:
    import shutil

    old, _ = runs
    broken = tmp_path / "broken"
    shutil.copytree(old, broken)
    (broken / "aggregate" / "distributions.parquet").unlink()
    result = runner.invoke(app, ["diff", str(old), str(broken), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "distributions.parquet is missing" in result.stderr
    assert "Hint: " in result.stderr and "Traceback" not in result.stderr
    other = tmp_path / "other"
    shutil.copytree(old, other)
    meta_path = other / "aggregate" / "meta.json"
    text = meta_path.read_text("utf-8")  # the same size: the stamp still holds
    meta_path.write_text(text.replace('"window_s": 600', '"window_s": 300'), "utf-8")
    result = runner.invoke(app, ["diff", str(old), str(other), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "window_s is 600 in OLD and 300 in NEW" in result.stderr
    assert not (tmp_path / "d" / "diff.json").exists()


def test_anonymized_runs_are_compared_by_their_pseudonyms(runs, tmp_path: Path) -> None:
    import shutil

    old, _ = runs
    anonymized = tmp_path / "anonymized"
    shutil.copytree(old, anonymized)
    exported = runner.invoke(
        app, ["export", "--out", str(anonymized), "--anonymize", "--salt", "s3cret"]
    )
    assert exported.exit_code == 0, exported.output
    result = diff_runs(anonymized, anonymized, tmp_path / "d")
    names = set(_clients(result.document))
    assert len(names) == 35 and result.counts["unchanged"] == 35
    text = (tmp_path / "d" / "diff.json").read_text("utf-8")
    html = (tmp_path / "d" / "diff.html").read_text("utf-8")
    for real in ("steady-00", "doubler", "leaver", "alert"):
        assert real not in text and real not in html
    # against the same run with its own ids, every client is gone and every pseudonym new
    mixed = diff_runs(old, anonymized, tmp_path / "mixed")
    assert mixed.counts == {"new": 35, "gone": 35, "changed": 0, "unchanged": 0}


def test_a_model_present_in_one_run_is_new_or_gone() -> None:
    """build_document on two small in-memory runs (no pipeline run): a model only in NEW is
    `new` and material, with all its clients new; the model in both is compared."""
    import numpy as np

    from pipeline.diff import _Client, _Run, build_document

    def client(n: float) -> _Client:
        windows = np.arange(144, dtype=np.int64)
        lengths = {"output_tokens": (np.array([10.0, 20.0]), np.array([50, 50]))}
        return _Client(
            windows=windows,
            n_requests=np.full(144, n),
            n_intervals=np.full(144, int(n) - 1),
            cv=np.full(144, 1.0),
            pattern_cv=np.full(144, 1.0),
            pattern_shape=np.full(144, 1.0),
            pattern_family=["Gamma"] * 144,
            pattern_hours=windows * 600 // 3600,
            lengths=lengths,
        )

    meta = {"origin_us": 0, "window_s": 600, "dataset_window_s": 21600, "n_requests": 1}
    old = _Run("OLD", meta, 0, 143, {("language", "a"): {"x": client(20)}}, {})
    both = {("language", "a"): {"x": client(20)}, ("reason", "b"): {"y": client(5)}}
    new = _Run("NEW", meta, 0, 143, both, {})
    document = build_document(old, new, DiffOptions(), Path("o"), Path("n"))
    models = {m["model"]: m for m in document["models"]}
    assert models["b"]["status"] == "new" and models["b"]["material"]
    assert models["b"]["clients"][0]["status"] == "new"
    assert models["b"]["drivers"][0]["client"] == "y"
    assert models["a"]["status"] == "unchanged" and not models["a"]["material"]
    gone = build_document(new, old, DiffOptions(), Path("n"), Path("o"))
    assert {m["model"]: m["status"] for m in gone["models"]} == {"a": "unchanged", "b": "gone"}


def test_a_failed_write_leaves_no_diff_json(runs, diffed, monkeypatch, tmp_path: Path) -> None:
    """A diff stopped between its two files leaves no diff.json (of the earlier diff, say)
    beside a diff.html it does not belong with."""
    import shutil

    from pipeline import diff as diff_module

    old, _ = runs
    out = tmp_path / "d"
    shutil.copytree(diffed.json_path.parent, out)
    written = diff_module.write_text_atomic

    def failing(path: Path, text: str) -> Path:
        if path.name == "diff.html":
            raise OSError("disk went away")
        return written(path, text)

    monkeypatch.setattr(diff_module, "write_text_atomic", failing)
    with pytest.raises(OSError):
        diff_runs(old, old, out)
    assert not (out / "diff.json").exists()
    assert (out / "diff.html").read_bytes() == diffed.html_path.read_bytes()
