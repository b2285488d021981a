"""What the command line prints: paths on stdout, progress and the summary on stderr.

Progress is drawn only when stderr is a terminal (checked through a pseudo-terminal) and never
with --quiet; help shows flags as flags; option errors speak of flags, not of pydantic.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"servechar {version('servechar')}\n"


@pytest.mark.parametrize("command", ["run", "export", "characterize", "generate", "validate"])
def test_help_shows_flags_as_flags(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    flag = "--faithful" if command in ("generate", "validate") else "--anonymize"
    (line,) = [line for line in result.stdout.splitlines() if line.strip().startswith(flag)]
    assert line.split()[1] != "<bool>"  # the help text follows the flag directly


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--preset", "azur"], "Error: --preset: unknown preset 'azur'; known: azure-llm"),
        (["run", "--threads", "0"], "Error: --threads: must be greater than 0 (got 0)"),
        (["run", "--window", "7"], "Error: --dataset-window (21600 s) must be a multiple of"),
        (["export", "--anonymize"], "Error: --anonymize needs a salt"),
        (["run", "--map", "when=ts"], "Error: --map: unknown canonical column(s) ['when']"),
    ],
)
def test_option_errors_name_the_flag(args: list[str], expected: str, tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")], env={"SERVECHAR_SALT": ""})
    assert result.exit_code == 1
    assert result.stderr.startswith(expected), result.stderr
    assert "Hint: " in result.stderr
    for pydantic_wording in ("Value error", "Input should", "Options:", "validation error"):
        assert pydantic_wording not in result.stderr
    assert not (tmp_path / "out").exists()


def test_run_prints_paths_on_stdout_and_the_summary_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--out", str(out)])
    assert result.exit_code == 0, result.output
    paths = result.stdout.splitlines()
    assert paths and all(Path(p).exists() for p in paths)
    assert str(out / "report.html") in paths
    summary = {line.split("  ")[0]: line for line in result.stderr.splitlines()}
    # the bundled sample's account (README): 29,629 rows, 5 broken, 8 clients of 3 models
    assert summary["rows read"].split()[2] == "29,629"
    assert summary["rejected"].split()[1] == "5"
    assert summary["rejected"].endswith(str(out / "rejects.csv"))
    assert summary["models"].split()[1] == "3"
    assert summary["clients"].split()[1] == "8"
    assert int(summary["windows fitted"].split()[2].replace(",", "")) > 0
    assert summary["report"].split()[-1] == str(out / "report.html")
    assert "\x1b" not in result.stderr  # not a terminal: no colours, no progress frames

    quiet = runner.invoke(app, ["run", "--out", str(tmp_path / "quiet"), "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout == result.stdout.replace(str(out), str(tmp_path / "quiet"))


def _stderr_on_a_terminal(args: list[str], cwd: Path) -> tuple[str, str, int]:
    """Run servechar with stderr on a pseudo-terminal; stdout stays a pipe."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    stdout, _ = process.communicate(timeout=300)
    return stdout.decode(), b"".join(chunks).decode(errors="replace"), process.returncode


def test_progress_only_on_a_terminal_and_never_with_quiet(tmp_path: Path) -> None:
    stdout, stderr, code = _stderr_on_a_terminal(["ingest", "--out", "out"], tmp_path)
    assert code == 0, stderr
    assert "ingest" in stderr and "0:00:0" in stderr  # the stage and its elapsed time
    assert stdout.splitlines()[0] == str(Path("out") / "ingest" / "requests")

    stdout, stderr, code = _stderr_on_a_terminal(["ingest", "--out", "out", "--quiet"], tmp_path)
    assert code == 0, stderr
    assert stderr == ""
    assert stdout.splitlines()[0] == str(Path("out") / "ingest" / "requests")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--window", "abc"], "Error: --window: must be a valid integer (got 'abc')"),
        (["run", "--bogus"], "Error: No such option: --bogus"),
        (["generate"], "Error: Missing argument 'out'."),
    ],
)
def test_command_line_mistakes_are_error_and_hint_lines(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    # through the console script's entry point, which owns the command-line errors
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    error, hint = result.stderr.splitlines()
    assert error.startswith(expected)
    assert hint == f"Hint: See `servechar {args[0]} --help`."
    assert "Input should" not in result.stderr and "Traceback" not in result.stderr
