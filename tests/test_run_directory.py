"""A run directory you can trust: fingerprints, atomic publishing, one writer, clear errors.

The fault tests kill a real `servechar` process (SIGKILL, at a named point of a stage, through
the SERVECHAR_TEST_KILL_AT hook, or after a delay) and then check the directory: each output of
the killed stage is the old complete one, the new complete one or absent, a stage that did not
finish has no stamp, and the next stage refuses with an error naming the stage to run again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all
from pipeline.cli import app
from pipeline.rundir import KILL_AT_ENV, STAGING_DIR, UPSTREAM, RunDir, json_ready
from pipeline.synthetic import ClientSpec, generate

runner = CliRunner()
STAGES = ("ingest", "aggregate", "fit", "export", "characterize", "anomalies", "report")
READER = {  # a command that reads the stage's outputs ({out}: the run directory)
    "ingest": ["aggregate", "--out", "{out}"],
    "aggregate": ["fit", "--out", "{out}"],
    "fit": ["export", "--out", "{out}"],
    "export": ["generate", "{out}", "--duration", "60", "-o", "{out}.trace.csv"],
    "characterize": ["report", "--out", "{out}"],
}
FIDELITY_TITLE = "Fidelity: generated workloads against the real log"


def _small_log(path: Path, seed: int, rate: float) -> Path:
    specs = [
        ClientSpec("alpha", "m1", rate_rps=rate, family="gamma", shape=1.0),
        ClientSpec("beta", "m1", rate_rps=rate / 2, family="gamma", shape=2.0),
    ]
    path.write_text(generate(specs, duration_s=3 * 3600, seed=seed).write_csv())
    return path


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("logs")
    return _small_log(directory / "a.csv", 1, 0.05), _small_log(directory / "b.csv", 2, 0.08)


@pytest.fixture(scope="module")
def run_a(logs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "a"
    run_all([str(logs[0])], out, RunOptions())
    return out


@pytest.fixture(scope="module")
def run_b(logs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "b"
    run_all([str(logs[1])], out, RunOptions())
    return out


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, ignore=shutil.ignore_patterns(".lock", ".tmp"))
    return to


def _digest(path: Path) -> str | None:
    """Bytes of a file, or of every file under a directory (with names); None if absent."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(item.relative_to(path)).encode() + b"\0" + item.read_bytes())
        return digest.hexdigest()
    return None


def _outputs(run: Path, stage: str) -> list[str]:
    import json

    return sorted(json.loads((run / "stamps" / f"{stage}.json").read_text())["outputs"])


def _servechar(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> object:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_stage_leaves_a_stamp_and_the_manifest_its_fingerprint(run_a: Path) -> None:
    import json

    manifest = json.loads((run_a / "manifest.json").read_text())
    run_dir = RunDir(run_a)
    for stage in STAGES:
        stamp = json.loads((run_a / "stamps" / f"{stage}.json").read_text())
        assert stamp["fingerprint"] == manifest["stages"][stage]["fingerprint"]
        assert set(stamp["upstream"]) == set(UPSTREAM[stage])
        assert run_dir.is_current(stage)
    assert not (run_a / STAGING_DIR).exists()


def test_same_input_gives_identical_stamps(run_a: Path, logs: tuple[Path, Path], tmp_path) -> None:
    again = tmp_path / "again"
    run_all([str(logs[0])], again, RunOptions())
    for stage in STAGES:
        name = f"stamps/{stage}.json"
        assert (again / name).read_bytes() == (run_a / name).read_bytes(), stage


def test_reingest_of_another_log_makes_every_later_stage_refuse(
    run_a: Path, logs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = _copy(run_a, tmp_path / "out")
    assert runner.invoke(app, ["ingest", str(logs[1]), "--out", str(out)]).exit_code == 0
    for command, stale in (("fit", "aggregate"), ("export", "aggregate"), ("report", "")):
        result = runner.invoke(app, [command, "--out", str(out)])
        assert result.exit_code == 1, command
        assert "Error:" in result.output and "Hint:" in result.output
        assert "earlier `ingest` run" in result.output
        if stale:
            assert f"servechar {stale} --out" in result.output
    assert "Traceback" not in result.output
    # Ingesting the first log again restores its fingerprint: the later stages are current.
    assert runner.invoke(app, ["ingest", str(logs[0]), "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["fit", "--out", str(out)]).exit_code == 0


def test_failed_ingest_keeps_its_rejects_but_later_stages_refuse(
    run_a: Path, tmp_path: Path
) -> None:
    out = _copy(run_a, tmp_path / "out")
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,model,input_tokens,output_tokens\n" + "x,m,1,1\n" * 20)
    result = runner.invoke(app, ["ingest", str(bad), "--out", str(out)])
    assert result.exit_code == 1 and "Error:" in result.output
    assert (out / "rejects.csv").read_text().count("invalid_timestamp") == 20
    assert not (out / "stamps" / "ingest.json").exists()
    after = runner.invoke(app, ["aggregate", "--out", str(out)])
    assert after.exit_code == 1
    assert "`ingest` has not completed" in after.output and "servechar ingest" in after.output


def test_damaged_output_is_refused_by_the_stage_that_reads_it(run_a: Path, tmp_path: Path) -> None:
    out = _copy(run_a, tmp_path / "out")
    victim = next((out / "profiles" / "data").rglob("chunk-0-trace.csv"))
    victim.write_text(victim.read_text()[:50])  # a truncated profile file
    result = runner.invoke(app, ["characterize", "--out", str(out)])
    assert result.exit_code == 0  # characterize does not read the profiles
    result = runner.invoke(app, ["generate", str(out), "--duration", "60"])
    assert result.exit_code == 1
    assert "profiles has changed since `export` wrote it" in result.output
    assert "servechar export --out" in result.output


def test_stale_validation_is_left_out_of_the_report(
    run_a: Path, logs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = _copy(run_a, tmp_path / "out")
    assert runner.invoke(app, ["validate", str(out), "--top-clients", "1"]).exit_code == 0
    assert FIDELITY_TITLE in (out / "report.html").read_text()
    result = runner.invoke(app, ["run", str(logs[1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "validation.json").exists()  # from the first log: kept, but not drawn
    assert not RunDir(out).is_current("validate")
    assert FIDELITY_TITLE not in (out / "report.html").read_text()


# (stage, point): "publish" = every new output written beside, none moved into place yet;
# "published-one" = the first output moved into place, the others not.
FAULTS = [
    ("ingest", "publish"),
    ("ingest", "published-one"),
    ("aggregate", "publish"),
    ("aggregate", "published-one"),
    ("fit", "published-one"),
    ("export", "publish"),
    ("export", "published-one"),
    ("characterize", "publish"),
    ("report", "publish"),
]


@pytest.mark.parametrize(("stage", "point"), FAULTS)
def test_killed_stage_leaves_old_or_new_complete_outputs_and_no_stamp(
    stage: str,
    point: str,
    run_a: Path,
    run_b: Path,
    logs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    out = _copy(run_a, tmp_path / "out")
    outputs = _outputs(run_a, stage)
    killed = _servechar(
        "run", str(logs[1]), "--out", str(out), env={KILL_AT_ENV: f"{stage}:{point}"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "stamps" / f"{stage}.json").exists()
    for relative in outputs:
        found = _digest(out / relative)
        old, new = _digest(run_a / relative), _digest(run_b / relative)
        if point == "publish":
            assert found == old, relative  # nothing moved: the old complete output
        else:
            assert found in (old, new, None), relative
    if point == "published-one":
        assert any(_digest(out / r) == _digest(run_b / r) for r in outputs)
    if stage in READER:
        after = runner.invoke(app, [arg.format(out=out) for arg in READER[stage]])
        assert after.exit_code == 1
        assert f"`{stage}` has not completed" in after.output
        assert f"servechar {stage}" in after.output and "Traceback" not in after.output


def test_rerun_after_a_kill_is_complete_and_clean(
    run_a: Path, run_b: Path, logs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = _copy(run_a, tmp_path / "out")
    killed = _servechar(
        "run", str(logs[1]), "--out", str(out), env={KILL_AT_ENV: "export:published-one"}
    )
    assert killed.returncode == -signal.SIGKILL
    assert (out / STAGING_DIR / "export").exists()  # what the killed run left beside
    assert runner.invoke(app, ["run", str(logs[1]), "--out", str(out)]).exit_code == 0
    assert not (out / STAGING_DIR).exists()
    for name in ("profiles", "fits.json", "summary.json", "rejects.csv", "stats.json"):
        assert _digest(out / name) == _digest(run_b / name), name


@pytest.fixture(scope="module")
def run_seconds(run_a: Path, logs: tuple[Path, Path], tmp_path_factory) -> float:
    """How long an uninterrupted `servechar run` of log B over a copy of run A takes here."""
    out = _copy(run_a, tmp_path_factory.mktemp("timed") / "out")
    started = time.perf_counter()
    assert _servechar("run", str(logs[1]), "--out", str(out)).returncode == 0
    return time.perf_counter() - started


@pytest.mark.parametrize("fraction", [0.2, 0.45, 0.7, 0.9])
def test_kill_at_any_moment_never_leaves_a_current_stage_with_other_outputs(
    fraction: float,
    run_seconds: float,
    run_a: Path,
    run_b: Path,
    logs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """Whatever moment the kill hits (a fraction of an uninterrupted run's time, so that the
    moments fall inside the run on any machine), a stage that counts as current has exactly
    the outputs of the log its ingest fingerprint says (A's or B's)."""
    out = _copy(run_a, tmp_path / "out")
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(logs[1]), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(fraction * run_seconds)
    child.send_signal(signal.SIGKILL)
    child.wait()
    run_dir = RunDir(out)
    references = {RunDir(r).fingerprint("ingest"): r for r in (run_a, run_b)}
    for stage in STAGES:
        if not run_dir.is_current(stage):
            continue
        reference = references[run_dir.fingerprint("ingest")]
        for relative in _outputs(out, stage):
            if relative.endswith(".html"):
                continue  # equal in content; checked through the stages that read them
            assert _digest(out / relative) == _digest(reference / relative), (stage, relative)


def test_second_writer_gets_a_clear_error_and_a_killed_holder_no_stale_lock(
    run_a: Path, tmp_path: Path
) -> None:
    out = _copy(run_a, tmp_path / "out")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from pipeline.runlock import locked\n"
            "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        busy = runner.invoke(app, ["fit", "--out", str(out)])
        assert time.perf_counter() - started < 10  # at once, not after the holder
        assert busy.exit_code == 1
        assert f"being written by another servechar command (process {holder.pid})" in busy.output
        assert "Hint:" in busy.output and "Traceback" not in busy.output
        generate_busy = runner.invoke(app, ["generate", str(out), "--duration", "60"])
        assert generate_busy.exit_code == 1 and "being written" in generate_busy.output
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / ".lock").exists()  # the file stays; the lock died with its process
    assert runner.invoke(app, ["fit", "--out", str(out)]).exit_code == 0


def test_out_that_is_a_file_is_an_error(logs: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("not a directory\n")
    for args in (["run", str(logs[0])], ["ingest", str(logs[0])], ["fit"], ["report"]):
        result = runner.invoke(app, [*args, "--out", str(target)])
        assert result.exit_code == 1, args
        assert f"{target} is a file, not a run directory" in result.output
        assert "Hint:" in result.output and "Traceback" not in result.output
    assert target.read_text() == "not a directory\n"
    nested = runner.invoke(app, ["ingest", str(logs[0]), "--out", str(target / "sub")])
    assert nested.exit_code == 1 and "a part of that path is a file" in nested.output


def _without_root_override() -> list[str]:
    """Root ignores permission bits; without CAP_DAC_OVERRIDE (util-linux setpriv) it does not."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_read_only_run_directory_is_an_error(run_a: Path, tmp_path: Path) -> None:
    out = _copy(run_a, tmp_path / "out")
    try:
        for path in [out, *out.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        before = _digest(out / "fits.json")
        result = subprocess.run(
            [*_without_root_override(), sys.executable, "-m", "pipeline", "fit", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert f"Error: cannot write to {out}" in result.stderr
        assert "Hint: Choose a writable place for --out" in result.stderr
        assert "Traceback" not in result.stderr
        assert _digest(out / "fits.json") == before
    finally:
        for path in [out, *out.rglob("*")]:
            path.chmod(0o755)


def _file_size_limit(limit: int) -> object:
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes beyond the limit fail: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_while_generating_names_the_output_option(run_a: Path, tmp_path: Path) -> None:
    """generate writes where --output says, so its full-disk hint names --output, and the
    partial trace is removed."""
    trace = tmp_path / "trace.csv"
    result = _servechar(
        "generate",
        str(run_a),
        "--duration",
        "3600",
        "--scale",
        "20",
        "--output",
        str(trace),
        preexec_fn=_file_size_limit(16 << 10),
    )
    assert result.returncode == 1, result.stderr
    assert "Error: no space left on the device while writing" in result.stderr
    assert "give --output a place on another disk" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_full_disk_is_an_error_and_leaves_the_old_outputs(
    run_a: Path, logs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file-size limit makes every write past 1 MB fail as a full disk does; the report
    (several MB) is the first output to hit it."""
    out = _copy(run_a, tmp_path / "out")
    old_report = _digest(out / "report.html")
    result = _servechar(
        "run", str(logs[1]), "--out", str(out), preexec_fn=_file_size_limit(1 << 20)
    )
    assert result.returncode == 1, result.stderr
    assert "Error: no space left on the device while writing" in result.stderr
    assert "Hint: Free some space" in result.stderr and "Traceback" not in result.stderr
    assert _digest(out / "report.html") == old_report
    assert not RunDir(out).is_current("report")
    assert RunDir(out).is_current("characterize")
    assert not (out / STAGING_DIR).exists()
    leftovers = [p for p in out.rglob(".*") if p.name not in (".lock", ".tmp")]
    assert leftovers == []


def test_a_full_disk_keeps_the_libraries_error_as_its_cause(tmp_path: Path) -> None:
    """The user sees one Error line; `--debug` shows the traceback of what hit the full disk
    (which query or write), so the converted error keeps it as its cause."""
    import errno

    from pipeline.errors import ResourceError
    from pipeline.rundir import disk_errors

    full = OSError(errno.ENOSPC, "No space left on device")
    with (
        pytest.raises(ResourceError, match="no space left on the device") as raised,
        disk_errors(tmp_path),
    ):
        raise full
    assert raised.value.__cause__ is full


def test_next_writer_removes_what_a_killed_run_left_beside(run_a: Path, tmp_path: Path) -> None:
    out = _copy(run_a, tmp_path / "out")
    spill = out / ".tmp" / "duckdb_temp_storage_DEFAULT-0.tmp"
    half = out / STAGING_DIR / "characterize" / "new" / "stats.json"
    for path in (spill, half):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left by a killed run")
    assert runner.invoke(app, ["fit", "--out", str(out)]).exit_code == 0
    assert not spill.exists() and not (out / STAGING_DIR).exists()
    assert RunDir(out).is_current("characterize")  # untouched: it was current before


def test_a_failed_atomic_write_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    from pipeline.rundir import write_atomic

    def fail(temporary: str) -> None:
        Path(temporary).write_text("half")
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        write_atomic(tmp_path / "out.csv", fail)
    assert list(tmp_path.iterdir()) == []


def test_json_ready_rounds_and_converts_python_and_numpy_values_alike() -> None:
    """Python's own types take the exact-type fast path, numpy scalars and subclasses the
    general one: both give the same rounded values, as plain Python types."""

    class Text(str):
        pass

    class Number(float):
        pass

    document = {
        1: [1.23456789012345, np.float64(1.23456789012345), Number(1.23456789012345)],
        "odd": (np.float32(0.1), float("nan"), np.nan, float("-inf"), -0.0, 5e-324),
        "flags": [True, np.bool_(False), None],
        "counts": [3, np.int64(3), 10**30],
        "text": [Text("a"), "b"],
        "nested": {"x": [[0.1 + 0.2]]},
    }
    ready = json_ready(document, 10)
    assert ready == {
        "1": [1.23456789, 1.23456789, 1.23456789],
        "odd": [0.1000000015, None, None, None, -0.0, 5e-324],
        "flags": [True, False, None],
        "counts": [3, 3, 10**30],
        "text": ["a", "b"],
        "nested": {"x": [[0.3]]},
    }
    numbers = [*ready["1"], *ready["odd"], *ready["flags"], *ready["counts"]]
    assert {type(v) for v in numbers} == {float, bool, int, type(None)}  # no numpy scalar
