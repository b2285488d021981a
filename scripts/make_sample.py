"""Regenerate the bundled sample log, sample/requests.csv.gz, from a fixed seed.

    python scripts/make_sample.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

from pipeline.synthetic import generate, sample_clients

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "requests.csv.gz"


def main() -> None:
    log = generate(sample_clients(), duration_s=86_400, seed=20250303)
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the gzip bytes identical from run to run
    with SAMPLE.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(log.write_csv().encode("utf-8"))
    print(f"{SAMPLE}: {len(log):,} requests")


if __name__ == "__main__":
    main()
