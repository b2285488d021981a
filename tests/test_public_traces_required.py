"""Tests that need the published traces skip without them, or fail when CI requires them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import public_trace


def test_a_missing_trace_skips_with_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVECHAR_TRACES", str(tmp_path / "nowhere"))
    monkeypatch.delenv("SERVECHAR_REQUIRE_TRACES", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        public_trace("ragpulse/0_trace.jsonl")
    assert "public trace ragpulse/0_trace.jsonl is missing" in str(skipped.value)
    assert str(tmp_path / "nowhere" / "ragpulse" / "0_trace.jsonl") in str(skipped.value)
    assert "SERVECHAR_TRACES" in str(skipped.value)


def test_a_missing_trace_fails_when_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVECHAR_TRACES", str(tmp_path / "nowhere"))
    monkeypatch.setenv("SERVECHAR_REQUIRE_TRACES", "1")
    with pytest.raises(pytest.fail.Exception, match="SERVECHAR_REQUIRE_TRACES=1 but public trace"):
        public_trace("servegen_bailian")


def test_a_present_trace_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ragpulse").mkdir()
    (tmp_path / "ragpulse" / "0_trace.jsonl").write_text("{}\n")
    monkeypatch.setenv("SERVECHAR_TRACES", str(tmp_path))
    monkeypatch.setenv("SERVECHAR_REQUIRE_TRACES", "1")
    assert public_trace("ragpulse/0_trace.jsonl") == tmp_path / "ragpulse" / "0_trace.jsonl"
