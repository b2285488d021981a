"""Regenerate the bundled sample log, sample/requests.csv.gz, from a fixed seed.

python scripts/make_sample.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

from pipeline.synthetic import generate, sample_clients

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "requests.csv.gz"

# A few broken rows, as real dumps have them, so that the sample shows the quarantine at work.
BROKEN_ROWS = (
    "2025-03-03T12:00:00.000000Z,bad-1,chat-large,acme,120,-4,,,,200\n"  # negative tokens
    "03/03/2025 12:00,bad-2,chat-large,acme,120,40,,,,200\n"  # not ISO-8601
    "2025-03-03T12:00:01.000000Z,req-0,chat-large,acme,120,40,,,,200\n"  # duplicate id
    "2025-03-03T12:00:02.000000Z,bad-4,chat-large,acme,120,40,,,200\n"  # a field short
    "2025-03-03T12:00:03.000000Z,bad-5,,acme,120,40,,,,200\n"  # no model
)


def main() -> None:
    log = generate(sample_clients(), duration_s=86_400, seed=20250303)
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the gzip bytes identical from run to run
    with SAMPLE.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write((log.write_csv() + BROKEN_ROWS).encode("utf-8"))
    print(f"{SAMPLE}: {len(log):,} requests")


if __name__ == "__main__":
    main()
