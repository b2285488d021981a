"""What runs inside a Spark task: its own DuckDB, sized to the cores Spark gave the task."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb


@contextlib.contextmanager
def task_duckdb(
    memory_limit: str = "2GB", threads: int | None = None, spill: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A task's DuckDB (servechar's macros, UTC) with `threads`, else the task's cores,
    spilling into `spill`, else a scratch directory of the task's."""
    from pipeline.config import EngineOptions
    from pipeline.stages import ingest

    with tempfile.TemporaryDirectory(prefix="servechar-task-") as scratch:
        con = ingest.connect_in(
            spill or Path(scratch, "duckdb"),
            EngineOptions(memory_limit=memory_limit),
            "UTC",
            threads or task_threads(),
        )
        try:
            yield con
        finally:
            con.close()


def task_threads() -> int | None:
    """DuckDB threads in a task: the cores Spark gave it (`spark.task.cpus`), not the host's."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.cpus() if context is not None else None
