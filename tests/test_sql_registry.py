"""Every SQL file has a header whose declared params are the ones it uses."""

from __future__ import annotations

import pytest

from pipeline import sqlrun


@pytest.mark.parametrize("name", sqlrun.sql_names())
def test_header_declares_exactly_the_params_used(name: str) -> None:
    text, _declared = sqlrun.load_sql(name)
    assert text.startswith(f"-- {name.split('/')[-1]}\n")
    assert "-- grain:" in text and "-- inputs:" in text


def test_passing_the_wrong_params_is_refused() -> None:
    import duckdb

    con = duckdb.connect()
    with pytest.raises(sqlrun.QueryError, match="declares params"):
        sqlrun.query(con, "sources/read_parquet", {"path": "x", "extra": 1})
