"""stats.json's parts are typed where characterize writes them and where the report reads them:
a key renamed on one side only fails the type check ([tool.mypy] in pyproject.toml, run by
.ci/run) instead of drawing nothing.

Each case type-checks the configured files with one file's text replaced (mypy's
--shadow-file), so the checkout itself is never modified.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
PRODUCER = ROOT / "pipeline" / "stages" / "characterize" / "sessions.py"
READER = ROOT / "reports" / "sections" / "sessions.py"


def _mypy(tmp_path: Path, *shadow: str) -> tuple[str, int]:
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            *shadow,
        ]
    )
    return stdout + stderr, status


def _shadow(tmp_path: Path, source: Path, old: str, new: str) -> list[str]:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {source}"
    shadow = tmp_path / source.name
    shadow.write_text(text.replace(old, new), encoding="utf-8")
    return ["--shadow-file", str(source), str(shadow)]


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy")


def test_the_checked_files_pass(mypy_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # [tool.mypy] files are relative to the checkout
    output, status = _mypy(mypy_cache)
    assert status == 0, output


def test_a_key_renamed_in_the_written_part_fails_in_the_report(
    mypy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """characterize writes `gaps_s` (type and value renamed together): the report still
    reads `gap_s`, and that read is the error."""
    monkeypatch.chdir(ROOT)
    renamed = PRODUCER.read_text(encoding="utf-8").replace('"gap_s"', '"gaps_s"')
    renamed = renamed.replace("    gap_s: Summary", "    gaps_s: Summary")
    shadow = mypy_cache / "producer.py"
    shadow.write_text(renamed, encoding="utf-8")
    output, status = _mypy(mypy_cache, "--shadow-file", str(PRODUCER), str(shadow))
    assert status == 1, output
    assert "reports/sections/sessions.py" in output and '"gap_s"' in output, output
    assert "pipeline/stages/characterize/sessions.py" not in output, output


def test_a_key_renamed_only_in_the_report_fails(
    mypy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    shadow = _shadow(mypy_cache, READER, "part['n_sessions']", "part['sessions']")
    output, status = _mypy(mypy_cache, *shadow)
    assert status == 1, output
    assert 'TypedDict "Sessions" has no key "sessions"' in output, output


def test_a_key_renamed_only_where_it_is_written_fails(
    mypy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    shadow = _shadow(mypy_cache, PRODUCER, '"n_sessions": n_sessions,', '"sessions": n_sessions,')
    output, status = _mypy(mypy_cache, *shadow)
    assert status == 1, output
    # the literal no longer matches Sessions (nor Unavailable): the return is the error
    assert "pipeline/stages/characterize/sessions.py" in output, output
    assert '"Sessions | Unavailable"' in output, output
