"""Seeded multi-day request logs with anomalies injected at known times (ground truth).

Every client sends a Poisson stream whose rate follows a daily cycle (amplitude 0.5, peak at
noon UTC: NOT an anomaly) and a slow random modulation (a gamma factor per 10 minutes, so the
counts are over-dispersed like real traffic). Injected events change one client's rate, its
error mix or its latency over a known interval:

- ``spike``: rate x3; ``dip``: rate x0.25; ``outage``: rate x0 (no requests at all);
- ``level_shift``: rate x1.7 from its start to the end of the log;
- ``latency``: TTFT and end-to-end latency x2.5;
- ``burst_429``: 40 % of the requests answered 429; ``burst_5xx``: 30 % answered 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2025, 3, 3, tzinfo=UTC)
DAY_S = 86_400
HOUR_S = 3_600
MODULATION_S = 600  # the rate's random modulation is constant over 10 minutes
MODULATION_SHAPE = 60.0  # gamma shape of that modulation: a 13 % coefficient of variation
BASE_FAILURE = 0.01  # 5xx share outside the injected bursts


@dataclass(frozen=True)
class Client:
    name: str
    model: str
    rate_rps: float


@dataclass(frozen=True)
class Injected:
    """One injected event: [start_s, end_s) from the log's start (end = log end for a shift)."""

    kind: str  # spike | dip | outage | level_shift | latency | burst_429 | burst_5xx
    model: str
    client: str
    start_s: float
    end_s: float


RATE_FACTOR = {"spike": 3.0, "dip": 0.25, "outage": 0.0, "level_shift": 1.7}
DURATION_S = {
    "spike": 20 * 60,
    "dip": 40 * 60,
    "outage": 60 * 60,
    "latency": 45 * 60,
    "burst_429": 30 * 60,
    "burst_5xx": 30 * 60,
}


def clients() -> list[Client]:
    return [
        Client("acme", "chat", 0.30),
        Client("globex", "chat", 0.20),
        Client("<script>alert(1)</script>", "chat", 0.12),
        Client("hooli", "code", 0.25),
        Client("stark", "code", 0.15),
    ]


def injected_events(days: int = 3) -> list[Injected]:
    """31 events over three days, at minutes that are not bin boundaries. The events of one
    model do not overlap, but for the level shift, which lasts to the end of the log."""
    end = days * DAY_S
    plan = [  # (hour from the start, minute, kind, model, client)
        (5, 7, "spike", "chat", "acme"),
        (9, 13, "dip", "chat", "acme"),
        (13, 2, "burst_429", "chat", "globex"),
        (17, 41, "outage", "chat", "globex"),
        (21, 23, "latency", "chat", "acme"),
        (26, 11, "spike", "chat", "<script>alert(1)</script>"),
        (30, 37, "burst_5xx", "chat", "acme"),
        (34, 3, "spike", "chat", "globex"),
        (38, 52, "dip", "chat", "globex"),
        (43, 9, "latency", "chat", "<script>alert(1)</script>"),
        (47, 31, "outage", "chat", "acme"),
        (52, 17, "burst_429", "chat", "acme"),
        (56, 44, "level_shift", "chat", "globex"),
        (6, 33, "outage", "code", "hooli"),
        (10, 19, "spike", "code", "stark"),
        (14, 46, "latency", "code", "hooli"),
        (18, 8, "burst_429", "code", "stark"),
        (23, 29, "dip", "code", "hooli"),
        (28, 1, "burst_5xx", "code", "hooli"),
        (32, 36, "spike", "code", "hooli"),
        (37, 14, "outage", "code", "stark"),
        (41, 48, "burst_429", "code", "hooli"),
        (46, 22, "latency", "code", "stark"),
        (51, 5, "spike", "code", "hooli"),
        (55, 12, "spike", "code", "stark"),
        (58, 40, "dip", "code", "hooli"),
        (60, 18, "burst_5xx", "chat", "<script>alert(1)</script>"),
        (62, 3, "burst_429", "code", "stark"),
        (64, 9, "spike", "chat", "acme"),
        (66, 27, "latency", "code", "hooli"),
        (68, 33, "outage", "chat", "<script>alert(1)</script>"),
    ]
    events = []
    for hour, minute, kind, model, client in plan:
        start = hour * HOUR_S + minute * 60
        stop = end if kind == "level_shift" else start + DURATION_S[kind]
        events.append(Injected(kind, model, client, float(start), float(stop)))
    return events


def generate_log(
    path: Path, *, days: int = 3, events: list[Injected] | None = None, seed: int = 0
) -> Path:
    """Write the log as CSV (timestamp, request_id, model, client_id, tokens, status, TTFT,
    end-to-end latency) and return its path."""
    rng = np.random.default_rng(seed)
    events = events or []
    duration = days * DAY_S
    frames = []
    for client in clients():
        mine = [e for e in events if e.client == client.name and e.model == client.model]
        peak = client.rate_rps * 1.5 * 3.0 * 1.5  # daily peak x the largest event x modulation
        candidates = np.sort(rng.uniform(0, duration, rng.poisson(peak * duration)))
        slots = (candidates // MODULATION_S).astype(np.int64)
        modulation = rng.gamma(MODULATION_SHAPE, 1 / MODULATION_SHAPE, duration // MODULATION_S)
        rate = client.rate_rps * modulation[slots]
        rate *= 1 + 0.5 * np.sin(2 * np.pi * (candidates - 6 * HOUR_S) / DAY_S)
        for event in mine:
            if event.kind in RATE_FACTOR:
                inside = (candidates >= event.start_s) & (candidates < event.end_s)
                rate[inside] *= RATE_FACTOR[event.kind]
        if np.any(rate > peak):
            raise AssertionError("the thinning bound is too low")
        t = candidates[rng.random(candidates.size) < rate / peak]
        n = t.size
        input_tokens = np.maximum(1, np.round(np.exp(rng.normal(6.0, 0.7, n)))).astype(np.int64)
        output_tokens = np.maximum(1, np.round(rng.exponential(200.0, n))).astype(np.int64)
        ttft = 80 + 0.05 * input_tokens + rng.gamma(4.0, 10.0, n)
        e2e = ttft + 20.0 * output_tokens + rng.gamma(4.0, 50.0, n)
        status = np.where(rng.random(n) < BASE_FAILURE, 500, 200)
        for event in mine:
            inside = (t >= event.start_s) & (t < event.end_s)
            if event.kind == "latency":
                ttft[inside] *= 2.5
                e2e[inside] *= 2.5
            elif event.kind == "burst_429":
                status[inside & (rng.random(n) < 0.4)] = 429
            elif event.kind == "burst_5xx":
                status[inside & (rng.random(n) < 0.3)] = 500
        frames.append(
            pl.DataFrame(
                {
                    "offset_us": np.round(t * 1e6).astype(np.int64),
                    "model": [client.model] * n,
                    "client_id": [client.name] * n,
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "status": status,
                    "ttft_ms": np.round(ttft, 2),
                    "e2e_ms": np.round(e2e, 2),
                }
            )
        )
    start_us = int(START.timestamp() * 1_000_000)
    log = pl.concat(frames).sort(["offset_us", "client_id"])
    log = log.select(
        pl.from_epoch(pl.col("offset_us") + start_us, time_unit="us")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .alias("timestamp"),
        pl.format("req-{}", pl.int_range(pl.len())).alias("request_id"),
        pl.exclude("offset_us"),
    )
    log.write_csv(path)
    return path
