"""The Spark session of `--engine spark`: local mode, a cluster master, or Spark Connect."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = (
    "Install the Spark extra: pip install 'servechar[spark]' (Spark also needs Java 17 or 21)."
)
JAVA_HINT = (
    "Spark needs a Java 17 or 21 runtime: install one (Debian: apt-get install "
    "openjdk-17-jre-headless) or set JAVA_HOME."
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
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
