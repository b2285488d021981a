"""The bundled sample is exactly what pipeline.synthetic generates from its seed."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

from pipeline import SAMPLE_LOG


def test_the_sample_regenerates_byte_for_byte() -> None:
    # scripts/make_sample.py is not a package module: load it from its file
    spec = importlib.util.spec_from_file_location(
        "make_sample", Path(__file__).resolve().parents[1] / "scripts" / "make_sample.py"
    )
    assert spec is not None and spec.loader is not None
    make_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sample)
    log = make_sample.generate(make_sample.sample_clients(), duration_s=86_400, seed=20250303)
    expected = log.write_csv() + make_sample.BROKEN_ROWS
    with gzip.open(SAMPLE_LOG, "rt", encoding="utf-8") as handle:
        assert handle.read() == expected
