"""Level shifts: servechar's robust binary segmentation against ruptures (if installed).

Seeded series of three days in 5-minute bins: Poisson counts with a daily cycle (amplitude
0.5), a slow gamma modulation, one x3 spike of 20 minutes and one outage of an hour at random
places; every other series has one level shift (x0.5, x0.65, x1.5 or x1.7) between 12 h and
60 h. Prints, per method, the shifts found within two bins (and within an hour) of the truth,
and the shifts found elsewhere (in the series without a shift, and far from the truth).
ruptures runs on the same deseasonalised series with the same 30 % filter:

    .venv/bin/pip install ruptures   # not a dependency of servechar
    .venv/bin/python bench/anomaly_shifts.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from fitting import anomalies

BINS_PER_HOUR = 12
N = 3 * 24 * BINS_PER_HOUR
MIN_SHIFT_BINS = 72
SETTINGS = anomalies.DetectorSettings(bins_per_hour=BINS_PER_HOUR)


def make_series(rng: np.random.Generator, shift_at: int | None, factor: float) -> np.ndarray:
    t = (np.arange(N) + 0.5) * 300
    rate = rng.uniform(10, 100) * (1 + 0.5 * np.sin(2 * np.pi * (t - 6 * 3600) / 86400))
    rate *= np.repeat(rng.gamma(60, 1 / 60, N // 2 + 1), 2)[:N]
    if shift_at is not None:
        rate[shift_at:] *= factor
    spike, outage = rng.integers(0, N - 12, 2)
    rate[spike : spike + 4] *= 3
    rate[outage : outage + 12] = 0
    return rng.poisson(rate).astype(np.float64)


def ours(x: np.ndarray) -> list[int]:
    return list(anomalies.detect(x, "count", SETTINGS).shifts)


def with_ruptures(algorithm: str, penalty: float) -> Callable[[np.ndarray], list[int]]:
    import ruptures

    def found(x: np.ndarray) -> list[int]:
        z = np.log1p(x)
        d = z - anomalies._daily_pattern(z, N, SETTINGS)
        q1, q3 = np.percentile(np.diff(d), [25, 75])
        sigma = (q3 - q1) / 1.349 / np.sqrt(2)
        method = ruptures.Binseg if algorithm == "binseg" else ruptures.Pelt
        fitted = method(model="l2", min_size=MIN_SHIFT_BINS, jump=3).fit(d)
        kept = []
        for k in fitted.predict(pen=penalty * sigma**2 * np.log(N))[:-1]:
            lo, hi = max(0, k - 2 * MIN_SHIFT_BINS), min(N, k + 2 * MIN_SHIFT_BINS)
            if np.expm1(abs(np.median(d[k:hi]) - np.median(d[lo:k]))) >= 0.3:
                kept.append(k)
        return kept

    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=120)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cases: list[tuple[int | None, float]] = [
        (int(rng.integers(144, 720)), float(rng.choice([0.5, 0.65, 1.5, 1.7])))
        if i % 2
        else (None, 1.0)
        for i in range(args.series)
    ]
    series = [make_series(rng, at, factor) for at, factor in cases]
    methods: dict[str, Callable[[np.ndarray], list[int]]] = {"servechar": ours}
    try:
        for algorithm, penalty in (("binseg", 5), ("binseg", 20), ("binseg", 80), ("pelt", 20)):
            methods[f"ruptures {algorithm} l2 pen={penalty}"] = with_ruptures(algorithm, penalty)
    except ImportError:
        print("ruptures is not installed: servechar only")
    n_shifted = sum(at is not None for at, _ in cases)
    for name, method in methods.items():
        started = time.perf_counter()
        near = within_hour = in_null = elsewhere = 0
        for (at, _), x in zip(cases, series, strict=True):
            found = method(x)
            if at is None:
                in_null += len(found)
                continue
            near += any(abs(k - at) <= 2 for k in found)
            within_hour += any(abs(k - at) <= BINS_PER_HOUR for k in found)
            elsewhere += sum(abs(k - at) > BINS_PER_HOUR for k in found)
        print(
            f"{name:28} within 2 bins {near}/{n_shifted}, within 1 h {within_hour}/{n_shifted}, "
            f"found in series without a shift {in_null}, elsewhere {elsewhere} "
            f"({time.perf_counter() - started:.1f} s)"
        )


if __name__ == "__main__":
    main()
