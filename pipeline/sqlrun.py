"""Run the SQL files under `sql/`: relations by logical name, values as `$params`.

Each file starts with a header naming its grain, inputs and params::

    -- params:  origin_us, window_us

The runner checks that the declared, used and passed parameters agree, so that a query can
never be run with a value missing or silently ignored, and Python never formats SQL text.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.errors import QueryError

__all__ = ["SQL_DIR", "QueryError", "connect", "execute", "load_sql", "query", "sql_names"]

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from importlib.resources.abc import Traversable
    from pathlib import Path

# `sql/` of the checkout, installed as the package `pipeline.sql` (see pyproject.toml): found
# through importlib.resources, so a wheel installed anywhere reads the same files.
SQL_DIR: Traversable = resources.files("pipeline.sql")

_PARAM_USE = re.compile(r"\$([a-z_][a-z0-9_]*)")
_PARAM_HEADER = re.compile(r"^--\s*params:\s*(.*)$", re.MULTILINE)


def sql_names() -> list[str]:
    """Every query name, as `layer/name`, for the registry tests."""
    return sorted(_names(SQL_DIR, ""))


def _names(directory: Traversable, prefix: str) -> Iterator[str]:
    for entry in directory.iterdir():
        if entry.is_dir():
            yield from _names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".sql"):
            yield prefix + entry.name.removesuffix(".sql")


@cache
def load_sql(name: str) -> tuple[str, frozenset[str]]:
    """Text of `sql/<name>.sql` and its declared parameters, after checking the header."""
    path = SQL_DIR.joinpath(*f"{name}.sql".split("/"))
    if not path.is_file():
        raise QueryError(
            f"no SQL file {name}.sql in {SQL_DIR}",
            hint="The installation is incomplete: reinstall servechar.",
        )
    text = path.read_text(encoding="utf-8")
    header = _PARAM_HEADER.search(text)
    if header is None:
        raise QueryError(f"{path.name} has no `-- params:` header line")
    declared_text = header.group(1).strip()
    declared = frozenset(
        p.strip() for p in declared_text.split(",") if p.strip() and declared_text != "(none)"
    )
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    used = frozenset(_PARAM_USE.findall(body))
    if used != declared:
        raise QueryError(
            f"{path.name}: header declares params {sorted(declared)} but the query uses "
            f"{sorted(used)}"
        )
    return text, declared


def _bound(name: str, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """The text of `sql/<name>.sql` and its params, after checking they are the declared ones."""
    text, declared = load_sql(name)
    passed = dict(params or {})
    if set(passed) != declared:
        raise QueryError(
            f"{name}.sql declares params {sorted(declared)} but was given {sorted(passed)}"
        )
    return text, passed or None


def query(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyRelation:
    """A lazy relation for `sql/<name>.sql` with its `$params` bound."""
    text, passed = _bound(name, params)
    return con.sql(text, params=passed)


def execute(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run a statement file (DDL or INSERT) with its `$params` bound."""
    text, passed = _bound(name, params)
    con.execute(text, passed)


DUCKDB_SHARE = 0.6
"""The share of `--memory-limit` given to DuckDB's buffer manager. DuckDB's limit bounds only
the memory it manages; the process also holds Python and its libraries (about 110 MB), the
Parquet writer's pages and allocations DuckDB does not count, and these grow with the log:
at a 1.5 GB DuckDB limit, ingest peaked at 1.81 GB on 10M rows and 2.16 GB on 100M rows
(0.31 and 0.66 GB above the limit). The rest of the budget is kept for them, so that
`--memory-limit` bounds the whole process."""
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b|bytes?)?\s*$", re.IGNORECASE)
_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def duckdb_memory_limit(memory_limit: str) -> str:
    """DuckDB's `memory_limit` for a process budget of `memory_limit` (a size such as 2GB,
    500MB or 1.5GiB, read as DuckDB reads it): `DUCKDB_SHARE` of it, in bytes. Text that is
    not such a size is passed on unchanged, for DuckDB to accept or reject."""
    size = size_bytes(memory_limit)
    return memory_limit if size is None else f"{int(size * DUCKDB_SHARE)}B"


QUERY_MEMORY_BYTES = 256 * 2**20
"""What each of several queries run side by side on one database needs of DuckDB's memory
limit at least: below it, their sorts no longer fit together even spilling."""


def size_bytes(size: str) -> int | None:
    """Bytes of a size as DuckDB prints or reads it (`1.1 GiB`, `500MB`); None if not one."""
    found = _SIZE.match(size)
    if not found:
        return None
    number, unit = float(found[1]), (found[2] or "b").lower()
    if unit.startswith("b"):
        return int(number)
    return int(number * (_BINARY_UNITS if unit.endswith("ib") else _UNITS)[unit[0]])


def queries_at_once(con: duckdb.DuckDBPyConnection, most: int) -> int:
    """How many queries to run side by side on `con`'s database: up to `most`, one when DuckDB
    may use a single thread (`--threads 1` asks for one), and no more than its memory limit
    gives `QUERY_MEMORY_BYTES` each."""
    limit, threads = con.execute(
        "select current_setting('memory_limit'), current_setting('threads')"
    ).fetchone()
    if int(threads) <= 1:
        return 1
    limit_bytes = size_bytes(str(limit))
    fits = most if limit_bytes is None else limit_bytes // QUERY_MEMORY_BYTES
    return max(1, min(most, fits))


def connect(
    *, threads: int | None, memory_limit: str, temp_dir: Path, tz: str = "UTC"
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to `temp_dir`; naive timestamps are read in `tz`.

    `memory_limit` is the budget of the whole process; DuckDB gets `DUCKDB_SHARE` of it.
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "memory_limit": duckdb_memory_limit(memory_limit),
        "temp_directory": str(temp_dir),
        "preserve_insertion_order": True,
    }
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    # stderr carries our progress and errors; DuckDB's bar would interleave with them
    execute(con, "session/disable_progress_bar")
    execute(con, "session/set_timezone", {"tz": tz})
    return con
