"""What-if scaling (`servechar whatif`): the generated workload at `scale` times the observed
rate against per-client RPM/TPM quotas, and the quota that keeps rate limiting rare.

The workload is the per-client composition of `pipeline.generate` at `scale` times every
window's rate (ServeGen's rate function: the target is split among clients in proportion to
their rates, so each keeps its burstiness); the quota model is `fitting.capacity`'s fixed
60-second windows per (model, client). Results go to `whatif.json`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fitting.capacity import QUOTA_WINDOW_S, QuotaWindows, smallest_quota_of
from pipeline.artefacts import WHATIF, WHATIF_FORMAT
from pipeline.errors import ConfigError
from pipeline.generate import (
    META,
    check_request_count,
    check_seed,
    check_span,
    generate_model,
    generation_windows,
    load_profiles,
    target_rates,
    window_length,
)
from pipeline.rundir import RunDir, stage, write_json
from pipeline.validate import clean_json

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from pipeline.generate import ModelProfiles


@dataclass(frozen=True)
class WhatifOptions:
    scale: float = 1.0
    rpm: float = math.inf
    tpm: float = math.inf
    target_share: float = 0.01
    seed: int = 0
    start_s: float = 0.0
    duration_s: float | None = None  # None: to the end of the profiles


CHUNK_WINDOWS = 6  # trace windows generated and replayed at a time


@dataclass(frozen=True)
class WhatifResult:
    path: Path
    models: list[dict[str, Any]]


@stage("whatif")
def run(run_dir: RunDir, options: WhatifOptions) -> WhatifResult:
    """Replay every model's generated workload against the quotas; write whatif.json."""
    started = time.perf_counter()
    if not (math.isfinite(options.scale) and options.scale > 0):
        raise ConfigError(f"--scale must be a positive number, got {options.scale}")
    if not (options.rpm > 0 and options.tpm > 0):  # nan too: it is no quota
        raise ConfigError("--rpm and --tpm must be positive", hint="For example --rpm 500.")
    if not (math.isfinite(options.rpm) or math.isfinite(options.tpm)):
        raise ConfigError("give a quota: --rpm, --tpm or both", hint="For example --rpm 500.")
    duration = options.duration_s
    if not (math.isfinite(options.start_s) and options.start_s >= 0) or (
        duration is not None and not (math.isfinite(duration) and duration > 0)
    ):  # nan slips through comparisons; an infinite --duration cannot be written to JSON
        raise ConfigError(
            "--start must be 0 or more and --duration positive, in seconds "
            f"(got --start {options.start_s:g}"
            + (f", --duration {duration:g})" if duration is not None else ")")
        )
    if not 0 <= options.target_share < 1:
        raise ConfigError(f"--target-share must be in [0, 1), got {options.target_share}")
    check_seed(options.seed)
    window_s = window_length(run_dir)
    rng = np.random.default_rng(options.seed)
    all_profiles = load_profiles(run_dir)
    span = options.duration_s
    if span is None:  # to the end of the profiles
        span = max(float(m.timestamps[-1]) + window_s for m in all_profiles) - options.start_s
    origin = run_dir.read_json(META, "aggregate").get("origin")
    check_span(all_profiles, window_s, options.start_s, span, origin)
    planned = []
    for profiles in all_profiles:
        windows = generation_windows(profiles, window_s, options.start_s, span)
        rates = target_rates(profiles, windows, scale=options.scale, rate_fn=None, share=1.0)
        planned.append((profiles, windows, rates))
    check_request_count(planned, window_s, options.start_s, span)
    models = [
        _replay(profiles, windows, rates, window_s, span, options, rng)
        for profiles, windows, rates in planned
    ]
    document = {
        "format": WHATIF_FORMAT,
        "options": {
            "scale": options.scale,
            "rpm": options.rpm if math.isfinite(options.rpm) else None,
            "tpm": options.tpm if math.isfinite(options.tpm) else None,
            "target_share": options.target_share,
            "seed": options.seed,
            "quota_window_s": QUOTA_WINDOW_S,
            "start_s": options.start_s,
            "duration_s": options.duration_s,
        },
        "window_s": window_s,
        "models": models,
    }
    write_json(run_dir.output(WHATIF), clean_json(document))
    path = run_dir.path(WHATIF)
    run_dir.update_manifest(
        "whatif",
        {
            "options": document["options"],
            "outputs": [str(path)],
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return WhatifResult(path, models)


def _replay(
    profiles: ModelProfiles,
    windows: NDArray[np.int64],
    rates: NDArray[np.float64],
    window_s: int,
    span: float,
    options: WhatifOptions,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One model's workload, generated and replayed a few trace windows at a time.

    Quota windows (whole minutes) never straddle trace windows that are whole minutes, so each
    chunk is replayed on its own; only each request's rank and running token count are kept
    for the quota search (12 bytes). The random draws are the same as in one pass: the
    generator goes window by window.
    """
    n_windows, n_clients = windows.size, len(profiles.clients)
    chunk = CHUNK_WINDOWS if window_s % QUOTA_WINDOW_S == 0 else max(n_windows, 1)
    window_n, window_rejected = np.zeros(n_windows), np.zeros(n_windows)
    client_n, client_rejected = np.zeros(n_clients), np.zeros(n_clients)
    ranks: list[NDArray[np.int32]] = []
    running: list[NDArray[np.float64]] = []
    for first in range(0, n_windows, chunk):
        part = slice(first, first + chunk)
        workload = generate_model(
            profiles,
            window_s=window_s,
            start_s=options.start_s,
            duration_s=span,
            rates=rates[part],
            windows=windows[part],
            rng=rng,
            faithful=False,
        )
        if workload.time_s.size == 0:
            continue
        quota = QuotaWindows.build(
            workload.time_s, workload.client, workload.tokens(), QUOTA_WINDOW_S
        )
        rejected = (~quota.admitted(options.rpm, options.tpm)).astype(np.float64)
        index = (workload.time_s - windows[first]) // window_s + first
        index = index.astype(np.int64)
        window_n += np.bincount(index, minlength=n_windows)[:n_windows]
        window_rejected += np.bincount(index, weights=rejected, minlength=n_windows)[:n_windows]
        client_n += np.bincount(workload.client, minlength=n_clients)
        client_rejected += np.bincount(workload.client, weights=rejected, minlength=n_clients)
        ranks.append(quota.rank.astype(np.int32))
        running.append(quota.tokens_so_far)
    n_total = float(window_n.sum())
    found = (
        smallest_quota_of(
            np.concatenate(ranks),
            np.concatenate(running),
            rpm=options.rpm,
            tpm=options.tpm,
            target_share=options.target_share,
        )
        if ranks
        else None
    )
    return {
        "category": profiles.category,
        "model": profiles.model,
        "n_requests": int(n_total),
        "rejected_share": float(window_rejected.sum() / n_total) if n_total else None,
        "by_client": [
            {
                "client_id": client.name,
                "n_requests": int(n),
                "rejected_share": float(r / n) if n else None,
            }
            for client, n, r in zip(profiles.clients, client_n, client_rejected, strict=True)
        ],
        "over_time": [
            {
                "start_s": int(start),
                "n_requests": int(n),
                "rejected_share": float(r / n) if n else None,
            }
            for start, n, r in zip(windows, window_n, window_rejected, strict=True)
        ],
        "quota_for_target": asdict(found) if found else None,
    }
