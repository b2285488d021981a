"""Larger than the memory limit: DuckDB spills, results do not change; too little is an error."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from pipeline import RunOptions, run_all
from pipeline.cli import app
from pipeline.config import EngineOptions
from pipeline.synthetic import ClientSpec, generate


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_tight_memory_limit_spills_and_gives_identical_profiles(tmp_path: Path) -> None:
    specs = [
        ClientSpec(f"c{i}", f"m{i % 3}", rate_rps=1.0 + i, family="gamma", shape=0.5 + i / 10)
        for i in range(6)
    ]
    log = tmp_path / "log.csv"
    generate(specs, duration_s=6 * 3600, seed=3).write_csv(log)
    roomy, tight = tmp_path / "roomy", tmp_path / "tight"
    run_all([str(log)], roomy, RunOptions())
    # 96MB: a DuckDB sort of rows that carry text needs about 50MB whatever their number (the
    # request table's sort, the shared sample's ordered write); the ~450k rows (about 100MB
    # as staged rows) still do not fit, so ingest and the summaries spill.
    run_all([str(log)], tight, RunOptions(engine=EngineOptions(memory_limit="96MB", threads=1)))
    assert _digest(tight / "profiles") == _digest(roomy / "profiles")
    assert (tight / "fits.json").read_bytes() == (roomy / "fits.json").read_bytes()


def test_too_little_memory_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "o"), "--memory-limit", "4MB"])
    assert result.exit_code == 1
    assert "out of memory" in result.output and "--memory-limit" in result.output
