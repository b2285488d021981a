"""What the command line shows on stderr while stages run, and the table `run` ends with.

Progress is drawn with rich only when stderr is a terminal and `--quiet` is not given: a log
file or a pipe gets no spinner frames, only the `Error:`/`Hint:` lines and the summary. stdout
is never touched here; it carries the paths written and nothing else.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pipeline import RunResult
    from pipeline.diff import DiffResult


def stderr_console() -> Console:
    """stderr as rich sees it: plain text when it is not a terminal, and then wide enough
    that a path in the summary is never broken over two lines of a log."""
    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=True, highlight=False, width=max(console.width, 200))
    return console


def _ignore(_stage: str) -> None:
    pass


@contextmanager
def stage_progress(stages: Sequence[str], *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A hook to call as each stage starts; draws `stage k/n` and the time elapsed.

    The display is transient: it disappears when the block ends (or fails), so the summary or
    the error that follows stands alone.
    """
    console = stderr_console()
    if quiet or not console.is_terminal:
        yield _ignore
        return
    columns = [SpinnerColumn(), TextColumn("{task.description:<12}"), TimeElapsedColumn()]
    if len(stages) > 1:
        columns[2:2] = [BarColumn(bar_width=24), MofNCompleteColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(stages[0], total=len(stages))

        def started(stage: str) -> None:
            progress.update(task, description=stage, completed=stages.index(stage))

        yield started


def print_run_summary(result: RunResult) -> None:
    """The summary table on stderr."""
    print_table(run_summary(result))


def print_table(table: Table) -> None:
    """A table on stderr, without the padding rich leaves at the ends of lines."""
    console = stderr_console()
    with console.capture() as captured:
        console.print(table)
    lines = captured.get().splitlines()
    sys.stderr.write("".join(line.rstrip() + "\n" for line in lines))
    sys.stderr.flush()


def run_summary(result: RunResult) -> Table:
    """The short account `servechar run` ends with: rows, models, clients, fits, the report."""
    ingest, fit = result.ingest, result.fit
    table = Table(show_header=False, box=None, pad_edge=False, title=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column()
    table.add_row("rows read", f"{ingest.rows_read:,}", "")
    table.add_row("accepted", f"{ingest.rows_accepted:,}", "")
    table.add_row(
        "rejected",
        f"{ingest.rows_rejected:,}",
        f"reasons in {ingest.rejects}" if ingest.rows_rejected else "",
    )
    table.add_row("models", f"{result.export.n_models:,}", "")
    table.add_row(
        "clients", f"{result.export.n_clients:,}", f"profiles in {result.export.profiles}"
    )
    table.add_row(
        "windows fitted",
        f"{fit.n_windows_fitted:,}",
        f"{fit.n_windows_pooled:,} more use their client's pooled pattern, "
        f"{fit.n_windows_default:,} Gamma shape 1 (too few requests)",
    )
    total = sum(result.seconds.values())
    table.add_row(
        "time",
        f"{total:,.1f} s",
        ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in result.seconds.items()),
    )
    table.add_row("report", "", str(result.report.path))
    return table


def diff_summary(result: DiffResult) -> Table:
    """The short table `servechar diff` ends with: each model's verdict and the clients that
    drive it. Names come from the logs: they are rich Text, never read as markup."""
    from rich.text import Text

    verdict = result.document["verdict"]
    table = Table(box=None, pad_edge=False, title=None)
    for column in ("model", "status", "material", "driven by"):
        table.add_column(column, style="bold" if column == "model" else None)
    for model in verdict["models"]:
        table.add_row(
            Text(model["model"]),
            model["status"],
            "yes" if model["material"] else "no",
            Text(", ".join(model["drivers"][:5]) + (" ..." if len(model["drivers"]) > 5 else "")),
        )
    counts = result.counts
    table.add_row(
        "clients",
        "",
        "",
        f"{counts['new']} new, {counts['gone']} gone, {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged",
    )
    table.add_row("verdict", "", "yes" if result.material else "no", "")
    return table
