"""Workload generation from per-client profiles, and the naive baseline (pure sampling).

The per-client generator follows ServeGen's documented behaviour (docs/servegen-format.md,
"How the generator uses a profile"): for each trace window the aggregate target rate is split
among the clients in proportion to their profile rates; each client draws ``ceil(rate * W)``
inter-arrival times from its window's Gamma or Weibull pattern, rescales them so that they fill
the window at the target rate, and keeps the arrivals inside the window. Request fields come
from the client's latest dataset window at or before the trace window, by inverse-CDF sampling.
With ``faithful=True`` one uniform number per request drives every field (ServeGen's shared
random number, so fields are perfectly rank-correlated); otherwise each field gets its own.

The naive baseline (the generator that the ServeGen paper finds under-provisioning) draws
Poisson arrivals at each window's aggregate rate and every field independently from the
model's pooled distribution.

References
----------
Y. Xiang et al., "ServeGen: Workload Characterization and Generation of Large Language Model
Serving in Production", arXiv:2505.09999 (2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

MODALITIES = ("image", "audio", "video")


@dataclass(frozen=True)
class FieldDistribution:
    """A discrete distribution: ascending support values and their probabilities."""

    values: NDArray[np.float64]
    probs: NDArray[np.float64]

    def sample(self, uniforms: NDArray[np.float64]) -> NDArray[np.float64]:
        """Inverse-CDF sampling: the value whose cumulative probability first exceeds u.

        ``side="right"`` never returns a value of probability zero, and the map from u to the
        value is non-decreasing, which is what makes shared uniforms rank-correlate fields.
        """
        cdf = np.cumsum(self.probs)
        index = np.searchsorted(cdf, uniforms * cdf[-1], side="right")
        return self.values[np.minimum(index, self.values.size - 1)]


@dataclass(frozen=True)
class ClientProfile:
    """One client's profile: trace windows (arrivals) and dataset windows (request data)."""

    name: str
    timestamps: NDArray[np.int64]  # trace window starts, seconds since the profile origin
    rates: NDArray[np.float64]  # requests per second; 0 for an inactive window
    patterns: tuple[str, ...]  # "Gamma", "Weibull" or "" (inactive)
    shapes: NDArray[np.float64]
    scales: NDArray[np.float64]
    dataset_timestamps: NDArray[np.int64]  # ascending
    datasets: tuple[Mapping[str, FieldDistribution], ...]

    def dataset_at(self, timestamp: int) -> Mapping[str, FieldDistribution]:
        """The latest dataset window at or before `timestamp` (ServeGen's rule)."""
        index = int(np.searchsorted(self.dataset_timestamps, timestamp, side="right")) - 1
        if index < 0:
            raise ValueError(f"client {self.name!r} has no dataset window at or before {timestamp}")
        return self.datasets[index]


@dataclass(frozen=True)
class Workload:
    """Generated requests, sorted by time: arrival seconds, client index and fields."""

    time_s: NDArray[np.float64]
    client: NDArray[np.int64]  # index into the profile list (or -1 for the naive workload)
    fields: Mapping[str, NDArray[np.float64]]

    def tokens(self) -> NDArray[np.float64]:
        """Input plus output tokens of each request (the load a server sees)."""
        return self.fields["input_tokens"] + self.fields["output_tokens"]


def window_arrivals(
    pattern: str,
    shape: float,
    scale: float,
    rate: float,
    window_s: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Arrival offsets in ``[0, window_s)`` of one client window, as ServeGen draws them.

    ``ceil(rate * window_s)`` inter-arrival times are drawn from the pattern, their cumulative
    sums are rescaled so that the last one falls at ``n / rate``, and arrivals at or after the
    window's end are dropped: the shape carries the burstiness, the rate the volume.
    """
    if rate <= 0 or not pattern:
        return np.zeros(0)
    n = math.ceil(round(rate * window_s, 9))  # 10.000000000000002 from a rate split is 10
    if pattern == "Gamma":
        draws = rng.gamma(shape, scale, n)
    elif pattern == "Weibull":
        draws = scale * rng.weibull(shape, n)
    else:
        raise ValueError(f"pattern must be 'Gamma' or 'Weibull', got {pattern!r}")
    times = np.cumsum(draws)
    if times[-1] <= 0:  # every draw underflowed to zero: spread them evenly instead
        times = np.arange(1, n + 1, dtype=np.float64)
    times = times * (n / rate) / times[-1]
    # Profile rates are counts over the window, so n / rate is the window's end give or take
    # a rounding error: that last arrival is dropped every time, not at the whim of the ulp.
    return times[times < window_s * (1 - 1e-9)]


def sample_fields(
    dists: Mapping[str, FieldDistribution],
    n: int,
    rng: np.random.Generator,
    *,
    faithful: bool,
) -> dict[str, NDArray[np.float64]]:
    """``n`` draws of every field; one shared uniform per request when `faithful`."""
    shared = rng.random(n) if faithful else None
    return {
        name: dists[name].sample(shared if shared is not None else rng.random(n))
        for name in sorted(dists)
    }


def derive_request_fields(
    category: str, fields: Mapping[str, NDArray[np.float64]]
) -> dict[str, NDArray[np.float64]]:
    """Add the log-level columns the scores compare: input_tokens, reason_tokens.

    A multimodal request's input is its text plus, per modality, items times tokens per item
    (the profile's ``*_tokens`` is per item); a reasoning request's reasoning tokens are its
    ratio times its output tokens, rounded.
    """
    result = dict(fields)
    if category == "multimodal":
        total = np.asarray(fields["text_tokens"], dtype=np.float64).copy()
        for modality in MODALITIES:
            total += fields[f"{modality}_count"] * fields[f"{modality}_tokens"]
        result["input_tokens"] = total
    if category == "reason":
        result["reason_tokens"] = np.round(fields["reason_ratio"] * fields["output_tokens"])
    return result


def generate_clients(
    clients: Sequence[ClientProfile],
    category: str,
    *,
    window_s: float,
    window_starts: Sequence[int],
    target_rates: Sequence[float],
    end_s: float,
    rng: np.random.Generator,
    faithful: bool = False,
    profile_windows: Sequence[int] | None = None,
) -> Workload:
    """Compose a workload from per-client profiles (ServeGen's generator, see module docs).

    Parameters
    ----------
    clients
        Profiles of one model; all share the same trace timestamps.
    window_starts, target_rates
        The trace windows to generate and the aggregate rate (requests/s) wanted in each;
        each window's rate is split among clients in proportion to their profile rates.
    end_s
        Arrivals at or after this time are dropped (a duration that ends inside a window).
    profile_windows
        For each window, the trace timestamp whose patterns, rates and dataset to use
        (default: the window's own); held-out scoring maps later windows to earlier ones.
    """
    if len(window_starts) != len(target_rates):
        raise ValueError("`window_starts` and `target_rates` must have the same length")
    times: list[NDArray[np.float64]] = []
    owners: list[NDArray[np.int64]] = []
    columns: dict[str, list[NDArray[np.float64]]] = {}
    if not clients:
        return _assemble(times, owners, columns, category)
    stamps = clients[0].timestamps
    rates = np.vstack([c.rates for c in clients])  # clients x windows
    sources = window_starts if profile_windows is None else profile_windows
    for start, source, target in zip(window_starts, sources, target_rates, strict=True):
        column = int(np.searchsorted(stamps, source))
        if column >= stamps.size or stamps[column] != source:
            raise ValueError(f"window {source} is not a trace timestamp of the profile")
        total = rates[:, column].sum()
        if total <= 0 or target <= 0:
            continue  # no client is active: there is nobody to split the rate among
        for index, client in enumerate(clients):
            share = rates[index, column] / total * target
            offsets = window_arrivals(
                client.patterns[column],
                float(client.shapes[column]),
                float(client.scales[column]),
                share,
                window_s,
                rng,
            )
            arrival = offsets + start
            arrival = arrival[arrival < end_s]
            if arrival.size == 0:
                continue
            dists = client.dataset_at(int(source))
            drawn = sample_fields(dists, arrival.size, rng, faithful=faithful)
            times.append(arrival)
            owners.append(np.full(arrival.size, index, dtype=np.int64))
            for name, values in drawn.items():
                columns.setdefault(name, []).append(values)
    return _assemble(times, owners, columns, category)


def pooled_distributions(
    clients: Sequence[ClientProfile], window_s: float
) -> dict[str, FieldDistribution]:
    """The model's pooled distribution of each field: every client's dataset windows mixed,
    weighted by the requests the client's trace windows send to each dataset window."""
    mass: dict[str, dict[float, float]] = {}
    for client in clients:
        counts = client.rates * window_s
        index = np.searchsorted(client.dataset_timestamps, client.timestamps, side="right") - 1
        for dataset_index, dists in enumerate(client.datasets):
            weight = float(counts[index == dataset_index].sum())
            if weight <= 0:
                continue
            for name, dist in dists.items():
                field_mass = mass.setdefault(name, {})
                for value, prob in zip(dist.values.tolist(), dist.probs.tolist(), strict=True):
                    if prob > 0:
                        field_mass[value] = field_mass.get(value, 0.0) + weight * prob
    pooled = {}
    for name, field_mass in mass.items():
        values = np.array(sorted(field_mass), dtype=np.float64)
        probs = np.array([field_mass[v] for v in values.tolist()], dtype=np.float64)
        pooled[name] = FieldDistribution(values, probs / probs.sum())
    return pooled


def generate_naive(
    pooled: Mapping[str, FieldDistribution],
    category: str,
    *,
    window_s: float,
    window_starts: Sequence[int],
    target_rates: Sequence[float],
    end_s: float,
    rng: np.random.Generator,
) -> Workload:
    """The naive baseline: Poisson arrivals at each window's aggregate rate, fields drawn
    independently from the pooled distribution of the whole model."""
    times: list[NDArray[np.float64]] = []
    for start, target in zip(window_starts, target_rates, strict=True):
        if target <= 0:
            continue
        n = int(rng.poisson(target * window_s))
        arrival = np.sort(rng.uniform(0.0, window_s, n)) + start
        times.append(arrival[arrival < end_s])
    n_total = sum(t.size for t in times)
    drawn = sample_fields(pooled, n_total, rng, faithful=False) if pooled else {}
    owners = [np.full(n_total, -1, dtype=np.int64)]
    columns = {name: [values] for name, values in drawn.items()}
    return _assemble(times, owners, columns, category)


def _assemble(
    times: list[NDArray[np.float64]],
    owners: list[NDArray[np.int64]],
    columns: dict[str, list[NDArray[np.float64]]],
    category: str,
) -> Workload:
    if not times:
        return Workload(np.zeros(0), np.zeros(0, dtype=np.int64), {})
    time_s = np.concatenate(times)
    order = np.argsort(time_s, kind="stable")
    client = np.concatenate(owners)[order]
    fields = {name: np.concatenate(parts)[order] for name, parts in columns.items()}
    return Workload(time_s[order], client, derive_request_fields(category, fields))
