"""Generate request traces from a run's exported profiles (`servechar generate`).

The profiles are read as ServeGen reads them (docs/servegen-format.md): `profiles/clients.csv`
names the chunks, `chunk-<N>-trace.csv` gives six comma-separated fields per trace window, and
each dataset field is a `{value: probability}` literal, parsed with `ast.literal_eval` (never
`eval`). The sampling itself is `fitting.generation`.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fitting.generation import ClientProfile, FieldDistribution, Workload, generate_clients
from pipeline import replay_formats
from pipeline.artefacts import META, PROFILE_CLIENTS, PROFILES
from pipeline.errors import ConfigError, InputError
from pipeline.rundir import RunDir, disk_errors, run_artefact_of
from pipeline.runlock import locked
from pipeline.schema import OPTIONAL_FIELD_COLUMNS
from pipeline.spreadsheet import restore_cell

if TYPE_CHECKING:
    from collections.abc import Sequence

    import polars as pl
    from numpy.typing import NDArray

MAX_REQUESTS = 50_000_000
"""Most requests one `generate` or `whatif` produces (a trace of about 4 GB of CSV): a larger
--scale or --duration is refused before any work, with the estimate."""
SHORTFALL_MIN_EXPECTED = 10  # fewer expected requests: a short trace is ordinary Poisson luck
TRACE_COLUMNS = ("input_tokens", "output_tokens", *OPTIONAL_FIELD_COLUMNS)
"""Field columns of a generated trace, after timestamp, client_id, model and category.

`image_tokens` (and audio, video) is the tokens of all of the request's items, as in the
input log, so that a generated trace can be ingested again."""


@dataclass(frozen=True)
class ModelProfiles:
    """Every client profile of one model, in chunk order."""

    category: str
    model: str
    clients: tuple[ClientProfile, ...]

    @property
    def timestamps(self) -> NDArray[np.int64]:
        return self.clients[0].timestamps

    def total_rates(self) -> NDArray[np.float64]:
        return np.sum([c.rates for c in self.clients], axis=0)


@dataclass(frozen=True)
class GenerateResult:
    trace: Path
    n_requests: int
    start_s: float  # seconds since the profile origin (the first profiled window by default)
    format: str = "servechar"
    files: tuple[Path, ...] = ()
    """Every file written (BLIS writes a header beside the trace)."""
    dropped: tuple[str, ...] = ()
    """Generated columns that `format` cannot carry (to warn about)."""
    warnings: tuple[str, ...] = ()


def load_profiles(run_dir: RunDir) -> list[ModelProfiles]:
    """Every model's client profiles from `profiles/`, in clients.csv order."""
    clients_csv = run_dir.require(PROFILE_CLIENTS, "export")
    rows = list(csv.reader(clients_csv.open(encoding="utf-8", newline="")))
    header = ["category", "model", "model_dir", "chunk", "client_id", "requests"]
    if not rows or rows[0] != header:
        raise InputError(
            f"{clients_csv}: header is not {','.join(header)}",
            hint="Re-run `servechar export` to rewrite the profiles.",
        )
    by_model: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header) or not row[3].isdigit():
            raise InputError(f"{clients_csv}:{number}: malformed row", hint="Re-run export.")
        category, model, model_dir, chunk, client_id, _ = map(restore_cell, row)
        by_model.setdefault((category, model, model_dir), []).append((int(chunk), client_id))
    from pipeline.stages.export import CATEGORY_FIELDS  # the format page's fields

    models = []
    for (category, model, model_dir), chunks in by_model.items():
        if category not in CATEGORY_FIELDS:
            raise InputError(f"{clients_csv}: unknown category {category!r}", hint="Re-run export.")
        directory = run_dir.path(PROFILES) / "data" / category / model_dir
        profiles = tuple(
            _load_client(directory, chunk, client_id, CATEGORY_FIELDS[category])
            for chunk, client_id in sorted(chunks)
        )
        stamps = profiles[0].timestamps
        for profile in profiles:
            if not np.array_equal(profile.timestamps, stamps):
                raise InputError(
                    f"{directory}: clients of one model have different trace timestamps",
                    hint="Re-run `servechar export`; every client needs every window.",
                )
        models.append(ModelProfiles(category, model, profiles))
    return models


def _load_client(
    directory: Path, chunk: int, client_id: str, expected_fields: tuple[str, ...]
) -> ClientProfile:
    trace = directory / f"chunk-{chunk}-trace.csv"
    dataset = directory / f"chunk-{chunk}-dataset.json"
    for path in (trace, dataset):
        if not path.is_file():
            raise InputError(f"{path} does not exist", hint="Re-run `servechar export`.")
    stamps, rates, patterns, shapes, scales = [], [], [], [], []
    for number, line in enumerate(trace.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split(",")
        try:
            if len(fields) != 6 or fields[3] not in ("Gamma", "Weibull", ""):
                raise ValueError
            stamps.append(int(fields[0]))
            rates.append(float(fields[1]))
            patterns.append(fields[3])
            shapes.append(float(fields[4]))
            scales.append(float(fields[5]))
        except ValueError:
            raise InputError(
                f"{trace}:{number}: expected timestamp,rate,cv,Gamma|Weibull|,shape,scale; "
                f"got {line[:80]!r}",
                hint="Re-run `servechar export`.",
            ) from None
    try:
        raw = json.loads(dataset.read_text(encoding="utf-8"))
        windows = sorted((int(key), value) for key, value in raw.items())
        datasets = tuple(
            {name: _distribution(name, text) for name, text in fields.items()}
            for _, fields in windows
        )
    except (ValueError, SyntaxError, AttributeError, TypeError) as exc:
        raise InputError(
            f"{dataset}: not a ServeGen dataset ({exc})", hint="Re-run export."
        ) from None
    for stamp, dists in zip(windows, datasets, strict=True):
        if set(dists) != set(expected_fields):
            raise InputError(
                f"{dataset}: window {stamp[0]} has fields {sorted(dists)}, not "
                f"{sorted(expected_fields)}",
                hint="Re-run `servechar export` to rewrite the profiles.",
            )
    return ClientProfile(
        name=client_id,
        timestamps=np.asarray(stamps, dtype=np.int64),
        rates=np.asarray(rates, dtype=np.float64),
        patterns=tuple(patterns),
        shapes=np.asarray(shapes, dtype=np.float64),
        scales=np.asarray(scales, dtype=np.float64),
        dataset_timestamps=np.asarray([stamp for stamp, _ in windows], dtype=np.int64),
        datasets=datasets,
    )


def _distribution(name: str, text: str) -> FieldDistribution:
    """ServeGen's reading of a `{value: probability}` literal (see the format page)."""
    keys_text, probs_text = _split_literal(text)
    if not keys_text:
        raise ValueError(f"{name} is not a non-empty dict literal")
    probs = np.asarray([float(v) for v in probs_text], dtype=np.float64)
    if name == "reason_ratio":  # keys ignored: list index i maps to i / (len - 1)
        values = np.arange(probs.size, dtype=np.float64) / max(probs.size - 1, 1)
    else:
        keys = np.asarray([int(k) for k in keys_text], dtype=np.float64)
        order = np.argsort(keys, kind="stable")
        values, probs = keys[order], probs[order]
    return FieldDistribution(values, probs)


def _split_literal(text: str) -> tuple[list[str], list[str]]:
    """Keys and values of a `{number: number, ...}` literal, as text.

    The profiles this project writes have exactly that form, which splits quickly; anything
    else goes through `ast.literal_eval`, which accepts literals only (never code).
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}") and "'" not in body and '"' not in body:
        pairs = [item.split(":") for item in body[1:-1].split(",") if item.strip()]
        if all(len(pair) == 2 for pair in pairs):
            return [k.strip() for k, _ in pairs], [v.strip() for _, v in pairs]
    mapping = ast.literal_eval(body)
    if not isinstance(mapping, dict):
        raise ValueError("not a dict literal")
    return [str(k) for k in mapping], [str(v) for v in mapping.values()]


def window_length(run_dir: RunDir) -> int:
    window_s = run_dir.read_json(META, "aggregate", keys=("window_s",))["window_s"]
    if not isinstance(window_s, int) or window_s <= 0:
        raise InputError(
            f"{run_dir.path(META)} is damaged: window_s is {window_s!r}, not a positive integer",
            hint=f"Run `servechar aggregate --out {run_dir.root}` again.",
        )
    return window_s


def check_seed(seed: int) -> None:
    if seed < 0:
        raise ConfigError(
            f"--seed must be 0 or more, got {seed}", hint="Any whole number from 0 up, e.g. 42."
        )


def check_request_count(
    planned: Sequence[tuple[ModelProfiles, NDArray[np.int64], NDArray[np.float64]]],
    window_s: int,
    start_s: float,
    duration_s: float,
) -> float:
    """Refuse, before any work, a workload of more than MAX_REQUESTS expected requests; return
    the expected count.

    `planned` holds (profiles, window starts, target rates) per model; each window contributes
    its rate times the part of it inside ``[start_s, start_s + duration_s)``.
    """
    expected = 0.0
    for _, windows, rates in planned:
        starts = windows.astype(np.float64)
        inside = np.minimum(starts + window_s, start_s + duration_s) - np.maximum(starts, start_s)
        expected += float(np.sum(rates * np.clip(inside, 0.0, None)))
    if not expected <= MAX_REQUESTS:  # also catches an infinite estimate
        raise ConfigError(
            f"this would generate about {expected:,.0f} requests, more than the limit of "
            f"{MAX_REQUESTS:,}",
            hint="Lower --scale (or the rate function) or --duration; a long trace can be made "
            "in pieces with --start.",
        )
    return expected


def read_rate_function(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A rate-function file: CSV with header `window_start_s,rate_rps`, ascending starts.

    The rate applies from its start until the next row's start (a step function).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rate-function file {path}: {exc.strerror}") from None
    hint = "Write a CSV with the header window_start_s,rate_rps, e.g. `0,12.5` per line."
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != ["window_start_s", "rate_rps"]:
        raise ConfigError(f"{path}:1: header must be window_start_s,rate_rps", hint=hint)
    starts, rates = [], []
    for number, row in enumerate(rows[1:], 2):
        if not row:
            continue
        try:
            if len(row) != 2:
                raise ValueError(f"{len(row)} fields, not 2")
            start, rate = float(row[0]), float(row[1])
            if not (math.isfinite(start) and math.isfinite(rate)) or rate < 0:
                raise ValueError("values must be finite and rate_rps >= 0")
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {row!r}: {exc}", hint=hint) from None
        if starts and start <= starts[-1]:
            raise ConfigError(
                f"{path}:{number}: window_start_s {start:g} is not after {starts[-1]:g}",
                hint="Sort the rows by window_start_s, without repeats.",
            )
        starts.append(start)
        rates.append(rate)
    if not starts:
        raise ConfigError(f"{path}: no rows after the header", hint=hint)
    return np.asarray(starts), np.asarray(rates)


def target_rates(
    profiles: ModelProfiles,
    window_starts: NDArray[np.int64],
    *,
    scale: float | None,
    rate_fn: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    share: float,
) -> NDArray[np.float64]:
    """Aggregate target rate of each window: `scale` times the profile's, or the rate function
    times this model's `share` of all models' requests (so that models keep their mix)."""
    if rate_fn is None:
        column = np.searchsorted(profiles.timestamps, window_starts)
        return profiles.total_rates()[column] * (1.0 if scale is None else scale)
    starts, rates = rate_fn
    index = np.searchsorted(starts, window_starts, side="right") - 1
    if np.any(index < 0):
        raise ConfigError(
            f"the rate function starts at {starts[0]:g} s, after the first generated window "
            f"({int(window_starts[0])} s)",
            hint="Add a row for window_start_s 0 (or --start later).",
        )
    return rates[index] * share


def generation_windows(
    profiles: ModelProfiles, window_s: int, start_s: float, duration_s: float
) -> NDArray[np.int64]:
    """Trace windows that overlap ``[start_s, start_s + duration_s)``."""
    stamps = profiles.timestamps
    return stamps[(stamps + window_s > start_s) & (stamps < start_s + duration_s)]


def profiled_span(models: Sequence[ModelProfiles], window_s: int) -> tuple[int, int] | None:
    """Start of the first and end of the last trace window with traffic (any client's rate
    above 0), in seconds since the profile origin; None when no window has any."""
    active = [m.timestamps[m.total_rates() > 0] for m in models]
    starts = [int(stamps[0]) for stamps in active if stamps.size]
    ends = [int(stamps[-1]) + window_s for stamps in active if stamps.size]
    return (min(starts), max(ends)) if starts else None


def describe_seconds(seconds: float, origin: str | None) -> str:
    """`65400 s (18:10:00 after 2023-11-16T00:00:00Z)`: a profile time a person can place."""
    days, rest = divmod(int(seconds), 86_400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    when = f"day {days + 1} {clock}" if days else clock
    return f"{seconds:g} s ({when} after {origin or 'the origin'})"


def check_span(
    models: Sequence[ModelProfiles],
    window_s: int,
    start_s: float,
    duration_s: float,
    origin: str | None = None,
) -> None:
    """A span without any profiled traffic would silently generate nothing: refuse it, naming
    the span that has traffic."""
    span = f"--start {start_s:g}" + (f" --duration {duration_s:g}" if duration_s > 0 else "")
    profiled = profiled_span(models, window_s)
    if profiled is None:
        raise InputError(
            "the profiles have no traffic: every trace window's rate is 0",
            hint="Re-run `servechar run` on a log with accepted requests.",
        )
    for profiles in models:
        windows = generation_windows(profiles, window_s, start_s, duration_s)
        rates = profiles.total_rates()[np.searchsorted(profiles.timestamps, windows)]
        if np.any(rates > 0):
            return
    first, end = profiled
    raise ConfigError(
        f"{span} holds no profiled traffic: the profiles have requests from "
        f"{describe_seconds(first, origin)} to {describe_seconds(end, origin)}",
        hint=f"Leave out --start (generation then starts at {first} s) or give a --start "
        f"from {first} to {end - 1} s (and --scale or --rate-fn for the volume).",
    )


def generate_model(
    profiles: ModelProfiles,
    *,
    window_s: int,
    start_s: float,
    duration_s: float,
    rates: NDArray[np.float64],
    windows: NDArray[np.int64],
    rng: np.random.Generator,
    faithful: bool,
) -> Workload:
    """One model's workload over ``[start_s, start_s + duration_s)``."""
    try:
        workload = generate_clients(
            profiles.clients,
            profiles.category,
            window_s=window_s,
            window_starts=windows.tolist(),
            target_rates=rates.tolist(),
            end_s=start_s + duration_s,
            rng=rng,
            faithful=faithful,
        )
    except (ValueError, KeyError) as exc:  # a hand-edited profile that breaks the format
        raise InputError(
            f"profiles of model {profiles.model!r} cannot be generated from: {exc}",
            hint="Re-run `servechar export` to rewrite the profiles.",
        ) from None
    keep = workload.time_s >= start_s
    return Workload(
        workload.time_s[keep],
        workload.client[keep],
        {name: values[keep] for name, values in workload.fields.items()},
    )


def run(
    run_dir: RunDir,
    output: Path | None,
    *,
    duration_s: float,
    start_s: float | None = None,
    scale: float | None = None,
    rate_fn_path: Path | None = None,
    seed: int = 0,
    faithful: bool = False,
    trace_format: str = "servechar",
) -> GenerateResult:
    """Write a replayable trace of every model's generated requests to `output` (default
    `requests` with the format's suffix), in `trace_format` (servechar's CSV, or a load
    generator's input: `replay_formats`).

    Without `start_s`, generation starts at the first trace window with profiled traffic (a
    log that starts late in its first day would otherwise give hours of nothing).
    """
    replay_formats.get_format(trace_format)  # an unknown or unwritable format fails first
    output = output if output is not None else replay_formats.default_output(trace_format)
    if not (math.isfinite(duration_s) and duration_s > 0) or (
        start_s is not None and not (math.isfinite(start_s) and start_s >= 0)
    ):  # nan slips through comparisons; inf would pass for "the whole profile"
        raise ConfigError(
            "--duration must be a positive number of seconds and --start 0 or more "
            f"(got --duration {duration_s:g}"
            + (f", --start {start_s:g})" if start_s is not None else ")")
        )
    if scale is not None and rate_fn_path is not None:
        raise ConfigError("--scale and --rate-fn are alternatives", hint="Give one of them.")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ConfigError(f"--scale must be a positive number, got {scale}")
    check_seed(seed)
    check_output(output, run_dir)
    rate_fn = read_rate_function(rate_fn_path) if rate_fn_path else None
    with locked(run_dir.root, shared=True):  # no writer replaces the profiles meanwhile
        run_dir.fingerprint("export")  # finished, and from the current aggregate and fit
        window_s = window_length(run_dir)  # checked: a damaged meta.json is a clear error
        meta = run_dir.read_json(META, "aggregate", keys=("origin_us",))
        models = load_profiles(run_dir)
    origin_us = int(meta["origin_us"])
    if start_s is None:
        start_s = float((profiled_span(models, window_s) or (0, 0))[0])
    check_span(models, window_s, start_s, duration_s, meta.get("origin"))
    rng = np.random.default_rng(seed)
    totals = [float(m.total_rates().sum()) for m in models]
    all_total = sum(totals) or 1.0
    planned = []
    for profiles, total in zip(models, totals, strict=True):
        windows = generation_windows(profiles, window_s, start_s, duration_s)
        rates = target_rates(
            profiles, windows, scale=scale, rate_fn=rate_fn, share=total / all_total
        )
        planned.append((profiles, windows, rates))
    expected = check_request_count(planned, window_s, start_s, duration_s)
    frames = []
    for profiles, windows, rates in planned:
        workload = generate_model(
            profiles,
            window_s=window_s,
            start_s=start_s,
            duration_s=duration_s,
            rates=rates,
            windows=windows,
            rng=rng,
            faithful=faithful,
        )
        frames.append(trace_frame(len(frames), profiles, workload))
        del workload  # one model's arrays at a time
    trace = sorted_trace(frames)
    del frames
    context = replay_formats.ReplayContext(start_s=start_s, origin_us=origin_us, seed=seed)
    with disk_errors(output.parent, "--output"):
        written = replay_formats.write(trace_format, trace, output, context)
    return GenerateResult(
        output,
        trace.height,
        start_s,
        trace_format,
        written.files,
        written.dropped,
        shortfall_warnings(trace.height, expected),
    )


def shortfall_warnings(generated: int, expected: float) -> tuple[str, ...]:
    """A trace far below the profiled rates (an empty one above all) must not pass silently.

    The generator ends each client window's draw at the window's end and drops that arrival,
    so a client window with n requests sends about n - 1: clients with one or two requests per
    window (sessions as clients) send next to nothing.
    """
    if expected < SHORTFALL_MIN_EXPECTED or generated >= expected / 2:
        return ()
    return (
        f"{generated:,} requests generated where the profiles' rates imply about "
        f"{expected:,.0f}: a client window with n requests sends about n - 1, so clients this "
        "sparse rarely send any. Re-run `servechar run` with --client-key naming a tenant or "
        "API-key column, or without --client-key, for fewer, busier clients.",
    )


def check_output(output: Path, run_dir: RunDir) -> None:
    """`--output` must be a new or a plain file, in a directory that exists, and never one of a
    run directory's own artefacts."""
    if output.is_dir():
        raise ConfigError(
            f"--output {output} is a directory", hint="Name the CSV file to write, e.g. trace.csv."
        )
    owner = run_artefact_of(output, run_dir.root)
    if owner is not None:
        raise ConfigError(
            f"--output {output} would overwrite {owner[1]}, an artefact of the run directory "
            f"{owner[0]}",
            hint="Write the trace outside the run's artefacts, e.g. --output trace.csv.",
        )
    parent = output.parent
    if not parent.is_dir():
        raise ConfigError(
            f"the directory of --output {output} does not exist ({parent})",
            hint=f"Create it first (mkdir -p {parent}), or choose another --output.",
        )


def trace_frame(model_index: int, profiles: ModelProfiles, workload: Workload) -> pl.DataFrame:
    """One model's generated requests as trace rows (compact types: the strings are categories,
    fields a category lacks are all-null columns that take no memory)."""
    import polars as pl

    n = workload.time_s.size
    names = pl.Series([c.name for c in profiles.clients], dtype=pl.String)
    columns = _trace_columns(profiles.category, workload)
    return pl.DataFrame(
        {
            "timestamp": workload.time_s,
            "client_id": (names.gather(workload.client) if n else names.clear()).cast(
                pl.Categorical
            ),
            "model": pl.repeat(profiles.model, n, dtype=pl.Categorical, eager=True),
            "category": pl.repeat(profiles.category, n, dtype=pl.Categorical, eager=True),
            **{
                name: pl.Series(name, values, dtype=pl.Float64).cast(pl.Int64)
                if values is not None
                else pl.Series(name, [None] * 0, dtype=pl.Null).extend_constant(None, n)
                for name, values in columns.items()
            },
            "_model": pl.repeat(model_index, n, dtype=pl.Int32, eager=True),
            "_row": np.arange(n, dtype=np.int64),
        }
    )


def sorted_trace(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Every model's rows by timestamp: timestamp (s since the profile origin), client, model,
    category, fields. Names stay column values, written by each format's writer (quoted as
    needed): data, never markup."""
    import polars as pl

    return (
        pl.concat(frames, how="vertical_relaxed")
        .sort(["timestamp", "_model", "_row"])
        .drop("_model", "_row")
    )


def _trace_columns(category: str, workload: Workload) -> dict[str, NDArray[np.float64] | None]:
    fields = workload.fields
    columns: dict[str, NDArray[np.float64] | None] = dict.fromkeys(TRACE_COLUMNS)
    if workload.time_s.size == 0:  # a model without requests in the span has no fields
        return columns
    columns["input_tokens"] = fields.get("input_tokens")
    columns["output_tokens"] = fields.get("output_tokens")
    if category == "reason":
        columns["reason_tokens"] = fields["reason_tokens"]
    if category == "multimodal":
        columns["text_tokens"] = fields["text_tokens"]
        for modality in ("image", "audio", "video"):
            count = fields[f"{modality}_count"]
            columns[f"{modality}_count"] = count
            columns[f"{modality}_tokens"] = count * fields[f"{modality}_tokens"]
    return columns
