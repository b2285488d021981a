"""Exports with thousands of tiny clients warn, and say to use a coarser --client-key."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.stages.export import MANY_TINY_CLIENTS, TINY_CLIENT_REQUESTS, sparse_client_warnings

runner = CliRunner()


def _clients(model: str, counts: list[int]) -> list[dict[str, object]]:
    return [{"model": model, "n_requests": n} for n in counts]


def test_a_model_with_thousands_of_tiny_clients_warns() -> None:
    tiny = [1] * MANY_TINY_CLIENTS + [TINY_CLIENT_REQUESTS] * 5
    (warning,) = sparse_client_warnings(
        _clients("rag", tiny) + _clients("chat", [500] * 3), {"identity": "session_id"}
    )
    assert warning.startswith("model 'rag': 1,000 of its 1,005 clients have fewer than 10 requests")
    assert "(median 1)" in warning and "sessions (--client-key session_id)" in warning
    assert "--client-key naming a tenant or API-key column" in warning


def test_fewer_tiny_clients_or_tiny_clients_split_over_models_do_not_warn() -> None:
    just_under = [TINY_CLIENT_REQUESTS - 1] * (MANY_TINY_CLIENTS - 1) + [1_000] * 2_000
    assert sparse_client_warnings(_clients("m", just_under), {"identity": "client_id"}) == []
    half = [1] * (MANY_TINY_CLIENTS // 2 + 1)
    assert sparse_client_warnings(_clients("a", half) + _clients("b", half), None) == []


def test_export_prints_the_warning_on_stderr(tmp_path: Path) -> None:
    # 1,000 tenants with two requests each and one busy tenant, over an hour
    rows = ["timestamp,model,client_id,input_tokens,output_tokens"]
    for i in range(1_000):
        rows += [f"{1_741_000_000 + i * 3},m,t{i},100,20", f"{1_741_000_001 + i * 3},m,t{i},90,30"]
    rows += [f"{1_741_000_000 + i},m,busy,120,40" for i in range(0, 3_000, 2)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    for stage in (["ingest", str(log)], ["aggregate"], ["fit"]):
        result = runner.invoke(app, [*stage, "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "Warning: model 'm': 1,000 of its 1,001 clients have fewer than 10 requests (median 2); "
        "clients are the log's client column."
    )
    assert "--client-key" in result.stderr
    assert all(Path(p).exists() for p in result.stdout.splitlines())  # stdout: paths only


def test_generate_warns_when_the_trace_falls_far_below_the_profiled_rates(tmp_path: Path) -> None:
    """Sessions as clients, one request each: the rates imply some 270 requests in the hour
    from the first profiled window, the per-client generator sends none. That is said on
    stderr, not passed over."""
    rows = ["timestamp,model,client_id,input_tokens,output_tokens"]
    rows += [f"{1_741_000_000 + i * 12},m,s{i},100,20" for i in range(300)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(log), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    trace = tmp_path / "t.csv"
    result = runner.invoke(app, ["generate", str(out), "--duration", "3600", "-o", str(trace)])
    assert result.exit_code == 0, result.output
    generated = len(trace.read_text().splitlines()) - 1
    assert generated < 150
    implied = re.search(
        r"Warning: (\d+) requests generated where the profiles' rates imply about (\d+)",
        result.stderr,
    )
    assert implied is not None, result.stderr
    assert int(implied[1]) == generated and int(implied[2]) > 200
    assert "--client-key" in result.stderr
    assert result.stdout.splitlines() == [str(trace)]


def test_generate_of_busy_clients_does_not_warn(tmp_path: Path) -> None:
    rows = ["timestamp,model,client_id,input_tokens,output_tokens"]
    rows += [f"{1_741_000_000 + i * 12},m,c{i % 2},100,20" for i in range(300)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(log), "--out", str(out), "--quiet"]).exit_code == 0
    trace = tmp_path / "t.csv"
    result = runner.invoke(app, ["generate", str(out), "--duration", "3600", "-o", str(trace)])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr
