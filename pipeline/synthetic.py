"""Seeded synthetic request logs from known per-client processes (ground truth for tests).

Each client is a renewal process per trace window: inter-arrival times from a Gamma or Weibull
with a known shape, rescaled to the window's rate, which follows a daily sine. Lengths come
from known distributions (lognormal, Pareto-tailed, exponential), reasoning clients carry a
Beta-distributed reasoning ratio and multimodal clients carry images. The bundled sample
(`scripts/make_sample.py`), the tests and the benchmark all use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
from scipy import special

START = datetime(2025, 3, 3, tzinfo=UTC)
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class ClientSpec:
    """A client's true arrival process and length distributions."""

    client_id: str
    model: str
    category: str = "language"  # language | reason | multimodal
    rate_rps: float = 1.0  # mean over the day
    family: str = "gamma"  # gamma | weibull_min
    shape: float = 1.0
    diurnal_amplitude: float = 0.0  # rate(t) = rate * (1 + A sin(2 pi (t - 6h) / 1 day))
    input_lognormal: tuple[float, float] = (6.0, 0.8)  # (mu, sigma) of log tokens
    pareto_tail: tuple[float, float, float] | None = None  # (weight, xm, alpha)
    output_mean: float = 200.0  # exponential unless output_lognormal is set
    output_lognormal: tuple[float, float] | None = None
    reason_beta: tuple[float, float] = (4.0, 2.0)  # reasoning share of output, reason clients
    # (weight of the first, Beta 1, Beta 2): a two-humped reasoning share instead of reason_beta
    reason_mixture: tuple[float, tuple[float, float], tuple[float, float]] | None = None
    # Gaussian-copula correlation of input and output lengths (exponential outputs only):
    # Spearman's rho is then (6 / pi) arcsin(length_correlation / 2)
    length_correlation: float = 0.0
    image_counts: tuple[float, ...] = (0.2, 0.6, 0.2)  # P(0), P(1), P(2) images, multimodal
    image_item_tokens: tuple[int, ...] = (256, 576, 1024)
    failure_rate: float = 0.0  # share answered with status 500 (arrivals, not lengths)
    rate_limited_share: float = 0.0  # share answered with status 429 (among the rest)
    # every request (not failed) in a trace window whose true rate exceeds this is answered
    # 429: rate limiting that happens only above a known load
    rate_limited_above_rps: float | None = None
    # (intercept ms, ms per input token, ms per output token, noise sd ms): ttft_ms =
    # intercept + a * input + noise, e2e_ms = ttft_ms + b * output + noise
    latency: tuple[float, float, float, float] | None = None
    session_turns: float = 0.0  # mean turns per session (geometric); 0: no session ids


def window_rates(spec: ClientSpec, n_windows: int, window_s: int) -> np.ndarray:
    """True rate of each trace window (requests per second) at the window's midpoint."""
    mid = (np.arange(n_windows) + 0.5) * window_s
    phase = 2 * np.pi * (mid - 6 * 3600) / SECONDS_PER_DAY
    return spec.rate_rps * (1 + spec.diurnal_amplitude * np.sin(phase))


def _iat_draws(spec: ClientSpec, n: int, mean: float, rng: np.random.Generator) -> np.ndarray:
    if spec.family == "gamma":
        return rng.gamma(spec.shape, mean / spec.shape, n)
    if spec.family == "weibull_min":
        scale = mean / special.gamma(1 + 1 / spec.shape)
        return scale * rng.weibull(spec.shape, n)
    raise ValueError(f"`family` must be 'gamma' or 'weibull_min', got {spec.family!r}")


def arrivals(
    spec: ClientSpec, n_windows: int, window_s: int, rng: np.random.Generator
) -> np.ndarray:
    """Arrival offsets (seconds from the start) of one client, window by window."""
    rates = window_rates(spec, n_windows, window_s)
    out = []
    for index, rate in enumerate(rates):
        if rate <= 0:
            continue
        expected = rate * window_s
        draws = _iat_draws(spec, int(expected * 1.5 + 10 * np.sqrt(expected) + 20), 1 / rate, rng)
        times = np.cumsum(draws)
        out.append(index * window_s + times[times < window_s])
    return np.concatenate(out) if out else np.zeros(0)


def _lengths(spec: ClientSpec, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    mu, sigma = spec.input_lognormal
    normal = rng.normal(mu, sigma, n)
    text = np.exp(normal)
    if spec.pareto_tail is not None:
        weight, xm, alpha = spec.pareto_tail
        tail = rng.random(n) < weight
        text[tail] = xm * (1 + rng.pareto(alpha, tail.sum()))
    text_tokens = np.maximum(1, np.round(text)).astype(np.int64)
    if spec.output_lognormal is not None:
        output = np.exp(rng.normal(*spec.output_lognormal, n))
    elif spec.length_correlation:
        rho = spec.length_correlation
        latent = rho * (normal - mu) / sigma + np.sqrt(1 - rho * rho) * rng.normal(0, 1, n)
        output = -spec.output_mean * np.log(special.ndtr(-latent))  # exponential quantile
    else:
        output = rng.exponential(spec.output_mean, n)
    output_tokens = np.maximum(1, np.round(output)).astype(np.int64)
    columns: dict[str, np.ndarray] = {"output_tokens": output_tokens}
    if spec.category == "reason":
        if spec.reason_mixture is not None:
            weight, first, second = spec.reason_mixture
            in_first = rng.random(n) < weight
            ratio = np.where(in_first, rng.beta(*first, n), rng.beta(*second, n))
        else:
            ratio = rng.beta(*spec.reason_beta, n)
        columns["reason_tokens"] = np.round(ratio * output_tokens).astype(np.int64)
    if spec.category == "multimodal":
        counts = rng.choice(len(spec.image_counts), n, p=np.asarray(spec.image_counts))
        per_item = rng.choice(np.asarray(spec.image_item_tokens), n)
        columns["image_count"] = counts.astype(np.int64)
        columns["image_tokens"] = (counts * per_item).astype(np.int64)
        columns["input_tokens"] = text_tokens + columns["image_tokens"]
    else:
        columns["input_tokens"] = text_tokens
    return columns


def generate(
    specs: list[ClientSpec],
    *,
    duration_s: int,
    window_s: int = 600,
    seed: int = 0,
    start: datetime = START,
) -> pl.DataFrame:
    """A request log (one row per request, sorted by time) from the given clients."""
    rng = np.random.default_rng(seed)
    n_windows = int(np.ceil(duration_s / window_s))
    frames = []
    for spec in specs:
        offsets = arrivals(spec, n_windows, window_s, rng)
        offsets = offsets[offsets < duration_s]
        n = len(offsets)
        columns = _lengths(spec, n, rng)
        failed = rng.random(n) < spec.failure_rate
        status = np.where(failed, 500, 200)
        # Extra columns draw from the generator only when used, so that logs without them
        # (the bundled sample) stay byte-identical.
        extra: dict[str, pl.Series] = {}
        if spec.rate_limited_share > 0:
            limited = ~failed & (rng.random(n) < spec.rate_limited_share)
            status = np.where(limited, 429, status)
        if spec.rate_limited_above_rps is not None:
            true_rates = window_rates(spec, n_windows, window_s)
            window_of = np.minimum((offsets // window_s).astype(np.int64), n_windows - 1)
            over = ~failed & (true_rates[window_of] > spec.rate_limited_above_rps)
            status = np.where(over, 429, status)
        if spec.latency is not None:
            intercept, per_input, per_output, noise = spec.latency
            ttft = intercept + per_input * columns["input_tokens"] + rng.normal(0, noise, n)
            e2e = ttft + per_output * columns["output_tokens"] + rng.normal(0, noise, n)
            extra["ttft_ms"] = pl.Series(np.round(np.maximum(ttft, 0.0), 3))
            extra["e2e_ms"] = pl.Series(np.round(np.maximum(e2e, ttft), 3))
        if spec.session_turns > 0:
            starts = rng.random(n) < 1.0 / spec.session_turns
            if n:
                starts[0] = True
            numbers = np.cumsum(starts)
            extra["session_id"] = pl.Series([f"{spec.client_id}-s{k}" for k in numbers])
        frame = pl.DataFrame(
            {
                "offset_us": np.round(offsets * 1e6).astype(np.int64),
                "model": [spec.model] * n,
                "client_id": [spec.client_id] * n,
                "input_tokens": columns["input_tokens"],
                "output_tokens": columns["output_tokens"],
                "reason_tokens": columns.get("reason_tokens", np.full(n, None)),
                "image_count": columns.get("image_count", np.full(n, None)),
                "image_tokens": columns.get("image_tokens", np.full(n, None)),
                "status": status,
                **extra,
            },
            schema_overrides={
                "reason_tokens": pl.Int64,
                "image_count": pl.Int64,
                "image_tokens": pl.Int64,
            },
        )
        frames.append(frame)
    start_us = int(start.timestamp() * 1_000_000)
    log = pl.concat(frames, how="diagonal").sort(["offset_us", "client_id"], maintain_order=True)
    return log.select(
        pl.from_epoch(pl.col("offset_us") + start_us, time_unit="us")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .alias("timestamp"),
        pl.format("req-{}", pl.int_range(pl.len())).alias("request_id"),
        pl.exclude("offset_us"),
    )


def sample_clients() -> list[ClientSpec]:
    """The bundled sample: three models (one per category), eight clients of varied burstiness."""
    return [
        ClientSpec(
            "acme",
            "chat-large",
            rate_rps=0.12,
            family="weibull_min",
            shape=0.6,
            diurnal_amplitude=0.6,
            pareto_tail=(0.1, 2000.0, 1.8),
            failure_rate=0.02,
        ),
        ClientSpec(
            "globex",
            "chat-large",
            rate_rps=0.06,
            family="gamma",
            shape=0.5,
            diurnal_amplitude=0.4,
            input_lognormal=(7.0, 0.6),
        ),
        ClientSpec("initech", "chat-large", rate_rps=0.03, family="gamma", shape=2.0),
        ClientSpec("umbrella", "chat-large", rate_rps=0.004, family="gamma", shape=1.0),
        ClientSpec(
            "hooli",
            "reasoner-r1",
            category="reason",
            rate_rps=0.05,
            family="gamma",
            shape=0.7,
            diurnal_amplitude=0.5,
            output_lognormal=(7.0, 0.7),
        ),
        ClientSpec(
            "stark",
            "reasoner-r1",
            category="reason",
            rate_rps=0.02,
            family="weibull_min",
            shape=0.8,
            reason_beta=(2.0, 2.0),
        ),
        ClientSpec(
            "wayne",
            "vision-pro",
            category="multimodal",
            rate_rps=0.04,
            family="gamma",
            shape=0.8,
            diurnal_amplitude=0.3,
        ),
        ClientSpec(
            "wonka",
            "vision-pro",
            category="multimodal",
            rate_rps=0.02,
            family="weibull_min",
            shape=1.5,
            image_counts=(0.0, 0.5, 0.5),
        ),
    ]
