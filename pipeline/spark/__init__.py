"""Running the heavy stages (ingest's row checks, the per-day summaries) on Apache Spark.

The project's DuckDB code runs inside Spark's Arrow functions, so each check and summary has
one definition; the merge and everything after it run locally on the merged summaries.
"""
