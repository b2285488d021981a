"""A ServeGen profile loader and generator written from docs/servegen-format.md, for tests.

It is deliberately strict: every rule on that page is an assertion here, so an export that
passes these checks is one ServeGen's own loader accepts.
"""

from __future__ import annotations

import ast
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

CATEGORY_FIELDS = {
    "language": {"input_tokens", "output_tokens"},
    "reason": {"input_tokens", "output_tokens", "reason_ratio"},
    "multimodal": {
        "text_tokens",
        "image_tokens",
        "audio_tokens",
        "video_tokens",
        "image_count",
        "audio_count",
        "video_count",
        "output_tokens",
    },
}


@dataclass
class Window:
    timestamp: int
    rate: float
    cv: float
    pattern: str | None
    shape: float
    scale: float


@dataclass
class Client:
    client_id: int
    windows: list[Window]
    dataset: dict[int, dict[str, list[float]]]  # timestamp -> field -> dense probabilities


def parse_trace(path: Path) -> list[Window]:
    windows = []
    text = path.read_text()
    assert text.endswith("\n") or text, f"{path} is empty"
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split(",")
        assert len(fields) == 6, f"{path}:{number}: {len(fields)} fields, not 6: {line!r}"
        timestamp = int(fields[0])
        rate, cv = float(fields[1]), float(fields[2])
        pattern = fields[3]
        shape, scale = float(fields[4]), float(fields[5])
        assert pattern in ("Gamma", "Weibull", ""), f"{path}:{number}: pattern {pattern!r}"
        if pattern == "":
            assert (rate, cv, shape, scale) == (0, 0, 0, 0), f"{path}:{number}: inactive not zero"
            windows.append(Window(timestamp, 0.0, 0.0, None, 0.0, 0.0))
            continue
        for value in (rate, cv, shape, scale):
            assert math.isfinite(value) and value > 0, f"{path}:{number}: bad number in {line!r}"
        windows.append(Window(timestamp, rate, cv, pattern, shape, scale))
    stamps = [w.timestamp for w in windows]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), f"{path}: not ascending"
    return windows


def parse_distribution(text: str, field: str) -> list[float] | None:
    """Densify like ServeGen: integer keys -> list over 0..max; others -> values in order."""
    assert isinstance(text, str), f"{field}: value is not a string"
    mapping = ast.literal_eval(text)  # literals only: anything else would be code under eval
    assert isinstance(mapping, dict), f"{field}: not a dict literal"
    if not mapping:
        return None
    keys = list(mapping)
    values = [float(v) for v in mapping.values()]
    assert all(isinstance(v, (int, float)) for v in mapping.values())
    assert all(v >= 0 for v in values), f"{field}: negative probability"
    assert abs(sum(values) - 1.0) <= 1e-6, f"{field}: probabilities sum to {sum(values)}"
    if all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        assert min(keys) >= 0
        dense = [0.0] * (max(keys) + 1)
        for k, v in mapping.items():
            dense[k] = float(v)
        return dense
    assert field == "reason_ratio", f"{field}: non-integer keys"
    assert all(isinstance(k, float) for k in keys)
    assert keys == sorted(keys), "reason_ratio keys are not in ascending order"
    return values


def load_model(root: Path, category: str, model_dir: str) -> list[Client]:
    directory = root / "data" / category / model_dir
    names = sorted(os.listdir(directory))
    trace_ids, dataset_ids = set(), set()
    for name in names:
        client = int(name.split("-")[1])
        assert name.split("-")[1].isdigit()
        if name.endswith("-trace.csv"):
            trace_ids.add(client)
        elif name.endswith("-dataset.json"):
            dataset_ids.add(client)
        else:
            raise AssertionError(f"unexpected file {name}")
    assert dataset_ids <= trace_ids, "a dataset file lacks its trace file"
    clients = []
    stamps: list[int] | None = None
    for client in sorted(trace_ids):
        windows = parse_trace(directory / f"chunk-{client}-trace.csv")
        these = [w.timestamp for w in windows]
        assert stamps is None or these == stamps, "clients of one model differ in timestamps"
        stamps = these
        dataset: dict[int, dict[str, list[float]]] = {}
        if client in dataset_ids:
            raw = json.loads((directory / f"chunk-{client}-dataset.json").read_text())
            for key, fields in raw.items():
                assert int(key) in set(these), f"dataset timestamp {key} not a trace timestamp"
                assert set(fields) == CATEGORY_FIELDS[category], f"fields {sorted(fields)}"
                parsed = {f: parse_distribution(v, f) for f, v in fields.items()}
                if any(v is None for v in parsed.values()):
                    continue  # ServeGen skips the window
                dataset[int(key)] = parsed  # type: ignore[assignment]
        clients.append(Client(client, windows, dataset))
    return clients


def generate(
    clients: list[Client], category: str, *, window_s: int, seed: int, shared_uniform: bool = True
) -> list[dict[str, float]]:
    """Requests from the profiles at their own rates, as the format page describes."""
    rng = np.random.default_rng(seed)
    requests = []
    for client in clients:
        stamps = sorted(client.dataset)
        for window in client.windows:
            if window.pattern is None or window.rate <= 0:
                continue
            n = math.ceil(window.rate * window_s)
            if window.pattern == "Gamma":
                iats = stats.gamma(a=window.shape, scale=window.scale).rvs(n, random_state=rng)
            else:
                iats = stats.weibull_min(c=window.shape, scale=window.scale).rvs(
                    n, random_state=rng
                )
            times = np.cumsum(iats)
            times = times * (n / window.rate) / times[-1]  # rescale to the window's rate
            times = times[times < window_s] + window.timestamp
            before = [s for s in stamps if s <= window.timestamp]
            assert before, (
                f"client {client.client_id}: no dataset window at or before {window.timestamp}"
            )
            dists = client.dataset[before[-1]]
            shared = rng.random(len(times))
            columns: dict[str, np.ndarray] = {}
            for field, probs in dists.items():
                cdf = np.cumsum(probs)
                draw = shared if shared_uniform else rng.random(len(times))
                index = np.minimum(np.searchsorted(cdf, draw * cdf[-1]), len(probs) - 1)
                columns[field] = index / (len(probs) - 1) if field == "reason_ratio" else index
            for i, t in enumerate(times):
                request = {"timestamp": float(t), "client": client.client_id}
                request.update({f: float(v[i]) for f, v in columns.items()})
                requests.append(request)
    assert all(set(r) - {"timestamp", "client"} == CATEGORY_FIELDS[category] for r in requests)
    return requests
