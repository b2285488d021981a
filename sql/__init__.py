"""The DuckDB queries, one per `.sql` file; installed as the package data `pipeline.sql`.

`pipeline.sqlrun` reads them through `importlib.resources`, so an installed wheel finds them
the same way a checkout does.
"""
