"""CSV cells that are safe to open in a spreadsheet.

Log fields are untrusted, and a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@`
as a formula (tab and carriage return can hide such a start). Following OWASP's advice on CSV
injection, a text cell that starts with one of these characters gets a single quote in front:
spreadsheets show the text and run nothing. So that `restore_cell` undoes this exactly, a cell
that already starts with quotes followed by one of them gets one quote more (`'=x` -> `''=x`);
any other text is written as it is. Numbers are written as numbers (a negative count stays a
number), and a NUL byte, which no two CSV readers handle alike, becomes the four characters
`\\x00`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pipeline import sqlrun

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import duckdb
    import polars as pl

FORMULA_START_PATTERN = r"^'*[=+\-@\t\r]"  # the formula characters, after any quotes
NUL_TEXT = "\\x00"
_FORMULA_START = re.compile(FORMULA_START_PATTERN)


def safe_cell(text: str) -> str:
    """A text cell as servechar writes it to CSV."""
    text = text.replace("\x00", NUL_TEXT)
    return "'" + text if _FORMULA_START.match(text) else text


def restore_cell(text: str) -> str:
    """The text `safe_cell` was given (for NUL-free text), from the cell it wrote."""
    return text[1:] if text.startswith("'") and _FORMULA_START.match(text) else text


def csv_line(cells: Sequence[object]) -> str:
    """One CSV record: text cells made safe and quoted as RFC 4180 says (also when they hold a
    carriage return, which Python's csv writer leaves bare), numbers as they are."""
    fields = []
    for cell in cells:
        if isinstance(cell, str):
            cell = safe_cell(cell)
            if any(ch in cell for ch in ',"\r\n'):
                cell = '"' + cell.replace('"', '""') + '"'
        fields.append(str(cell))
    return ",".join(fields) + "\n"


def safe_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """`safe_cell` applied to the text columns `columns` of a Polars frame, vectorised."""
    import polars as pl

    updates = []
    for name in columns:
        text = pl.col(name).cast(pl.String).str.replace_all("\x00", NUL_TEXT, literal=True)
        updates.append(
            pl.when(text.str.contains(FORMULA_START_PATTERN))
            .then(pl.lit("'") + text)
            .otherwise(text)
            .alias(name)
        )
    return frame.with_columns(updates)


def write_rejects_csv(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """rejects.csv from the `ingest/rejects` query, with every text cell made safe in SQL."""
    sqlrun.execute(con, "macros/spreadsheet")
    sqlrun.query(con, "ingest/rejects").create_view("rejects", replace=True)
    sqlrun.query(con, "ingest/rejects_csv").write_csv(str(path), header=True)
