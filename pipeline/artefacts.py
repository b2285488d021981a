"""Every run-directory artefact's name and every JSON document's format tag, defined once.

Stages write and the report, `generate`, `validate` and `whatif` read these names; a renamed
artefact is one edit here. Paths are relative to the run directory (POSIX separators).
"""

from __future__ import annotations

# --- at the top of the run directory ------------------------------------------------------------
MANIFEST = "manifest.json"
SUMMARY = "summary.json"  # ingest's row account
REJECTS = "rejects.csv"
FITS = "fits.json"
PROFILES = "profiles"  # the ServeGen profile tree
CLIENTS_CSV = "clients.csv"  # inside PROFILES: one row per (model, client) profile
PROFILE_CLIENTS = f"{PROFILES}/{CLIENTS_CSV}"
STATS = "stats.json"
REPORT = "report.html"
VALIDATION = "validation.json"
WHATIF = "whatif.json"
ANOMALIES = "anomalies.json"  # the anomalies stage; the report quotes its events

# --- in the output directory of `servechar diff OLD NEW --out D` ---------------------------------
DIFF_JSON = "diff.json"
DIFF_HTML = "diff.html"

# --- inside the stages' directories --------------------------------------------------------------
REQUESTS = "ingest/requests"  # the request table: one `day=YYYY-MM-DD/` directory per UTC day
REQUESTS_DAY_FILE = "part-0.parquet"  # the one file of each day directory
IDENTITY = "ingest/identity.json"  # who a client is in this run
TRACE_WINDOWS = "aggregate/trace_windows.parquet"
INTERARRIVALS = "aggregate/interarrivals.parquet"
DISTRIBUTIONS = "aggregate/distributions.parquet"
META = "aggregate/meta.json"
TICK_DISPERSION = "aggregate/tick_dispersion.parquet"
TIME_QUALITY = "aggregate/time_quality.json"
SUMMARIES = "aggregate/summaries"  # the merged summaries and their parts (docs/summaries.md)
WINDOW_FITS = "fit/window_fits.parquet"
CLIENT_FITS = "fit/client_fits.parquet"
VALIDATION_TRAIN = "validate/train"

# --- format tags of the JSON documents (bump the number on an incompatible change) ---------------
REQUESTS_FORMAT = "servechar.requests/2"  # the request table's contract (docs/requests.md)
FITS_FORMAT = "servechar.fits/1"
STATS_FORMAT = "servechar.stats/1"
VALIDATION_FORMAT = "servechar.validation/1"
WHATIF_FORMAT = "servechar.whatif/1"
DIFF_FORMAT = "servechar.diff/1"
ANOMALIES_FORMAT = "servechar.anomalies/1"
