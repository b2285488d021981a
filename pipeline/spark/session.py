"""The Spark session of `--engine spark`: local mode, a cluster master, or Spark Connect."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from pipeline import errors
from pipeline.errors import ConfigError, PipelineError, ResourceError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = (
    "Install the Spark extra: pip install 'servechar[spark]' (Spark also needs Java 17 or 21)."
)
JAVA_HINT = (
    "Spark needs a Java 17 or 21 runtime: install one (Debian: apt-get install "
    "openjdk-17-jre-headless) or set JAVA_HOME."
)


# In local mode the executors live in the driver's JVM, whose heap Spark sizes at 1 GB unless
# told otherwise: a task reading a few hundred MB of log (binaryFile holds a file whole) ran out.
LOCAL_DRIVER_MEMORY = "4g"
MEMORY_HINT = (
    "Give Spark more memory (local mode: PYSPARK_SUBMIT_ARGS='--driver-memory 8g pyspark-shell'; "
    "a cluster: spark.executor.memory), or split the input into smaller files."
)


def require_pyspark() -> None:
    """Stop with an install hint when pyspark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--engine spark needs pyspark, which is not installed.", hint=INSTALL_HINT
        ) from None


def spark_session(master: str, *, app_name: str = "servechar") -> SparkSession:
    """A session on `master` (`local[*]`, `spark://...`, `yarn`, or `sc://host:port`).

    The executors' Python is this interpreter, so that they import the same servechar and
    DuckDB; every session clock is UTC, as the request table's days are.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise ConfigError("--engine spark: no Java runtime was found.", hint=JAVA_HINT)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # stderr carries servechar's progress and errors: no progress bars, no INFO/WARN lines
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "8")
    )
    if master.startswith("local") and not _driver_memory_given():
        builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _driver_memory_given() -> bool:
    """Whether the user sized the driver's heap already (it is fixed when the JVM starts)."""
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    return (
        "--driver-memory" in submit_args
        or "spark.driver.memory" in submit_args
        or bool(os.environ.get("SPARK_DRIVER_MEMORY"))
    )


@contextlib.contextmanager
def spark_conf(session: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """`settings` on `session`'s runtime configuration for the block, then as they were."""
    saved = {name: session.conf.get(name, None) for name in settings}
    try:
        for name, value in settings.items():
            session.conf.set(name, value)
        yield
    finally:
        for name, before in saved.items():
            if before is None:
                session.conf.unset(name)
            else:
                session.conf.set(name, before)


@contextlib.contextmanager
def spark_failures() -> Iterator[None]:
    """Spark's own failures (a JVM out of heap, a lost driver) as a ResourceError with what to
    do, not as py4j's traceback; servechar's own errors pass unchanged, also when a task raised
    them (`raised_in_task`)."""
    try:
        yield
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        try:
            text = str(exc)
        except Exception:  # py4j's error cannot print itself once the JVM is gone
            text = ""
        raised = raised_in_task(text)
        if raised is not None:
            raise raised from None
        if "OutOfMemoryError" in text or type(exc).__module__.startswith("py4j"):
            raise ResourceError(
                "Spark ran out of memory or its JVM stopped while servechar's tasks ran",
                hint=MEMORY_HINT,
            ) from exc
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        raise ResourceError(
            f"Spark failed: {lines[0] if lines else type(exc).__name__}",
            hint="Run again with --debug to see Spark's whole error; " + MEMORY_HINT,
        ) from exc


def raised_in_task(text: str) -> PipelineError | None:
    """The servechar error a Spark task raised, from its Python traceback in Spark's error
    `text` (the last `pipeline.errors.<Kind>: message` line), or None."""
    for line in reversed(text.splitlines()):
        name, sep, message = line.strip().partition(": ")
        kind = getattr(errors, name.removeprefix("pipeline.errors."), None)
        if sep and isinstance(kind, type) and issubclass(kind, PipelineError):
            return kind(message)
    return None
