"""Cost of a refresh with one new day vs `servechar run` over the whole span.

A store holds DAYS days (one dump of DAYS daily files); one more day arrives. Timed: the
refresh that absorbs it and publishes the new DAYS-day version (the span moves by a day), and
a full `servechar run` over the same DAYS days in one go, in the same process tree. Prints
both times, their ratio, the day summaries and window fits reused, and checks the two runs'
profiles, fits.json and stats.json for byte equality (rows_read aside: a version counts whole
dumps).

    .venv/bin/python bench/bench_refresh.py --rows-per-day 200000 --days 14 --work /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from pipeline import RunOptions, run_all
from pipeline.refresh import LATEST, refresh
from pipeline.synthetic import START, ClientSpec, generate

SECONDS_PER_DAY = 86_400


def clients(rows_per_day: int) -> list[ClientSpec]:
    """Twenty clients on three models sharing `rows_per_day` requests a day."""
    weights = [1.0 + (k % 5) for k in range(20)]
    scale = rows_per_day / SECONDS_PER_DAY / sum(weights)
    models = ["m-chat", "m-code", "m-reason"]
    return [
        ClientSpec(
            f"client-{k:02d}",
            models[k % 3],
            category="reason" if k % 3 == 2 else "language",
            rate_rps=w * scale,
            shape=0.5 + (k % 4) * 0.5,
            diurnal_amplitude=0.5,
        )
        for k, w in enumerate(weights)
    ]


def write_days(folder: Path, rows_per_day: int, n_days: int) -> list[Path]:
    """One CSV per UTC day, `n_days` days."""
    folder.mkdir(parents=True, exist_ok=True)
    log = generate(clients(rows_per_day), duration_s=n_days * SECONDS_PER_DAY, seed=5)
    # the timestamps parsed once (not once per day: at 14 x 1M rows that was most of the time)
    stamp = log.get_column("timestamp").str.to_datetime(time_zone="UTC")
    days = ((stamp - START).dt.total_seconds() // SECONDS_PER_DAY).alias("day_number")
    paths = []
    for day in range(n_days):
        path = folder / f"day-{day:02d}.csv"
        log.filter(days == day).write_csv(path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-day", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--work", type=Path, default=Path("bench-refresh"))
    parser.add_argument(
        "--logs",
        type=Path,
        help="read the day logs (day-NN.csv, DAYS + 1 of them) from this folder instead of "
        "writing them (writing 15 x 1M rows takes minutes)",
    )
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    if args.logs:
        files = sorted(args.logs.glob("day-*.csv"))
        if len(files) != args.days + 1:
            parser.error(f"{args.logs} holds {len(files)} day-*.csv files, not {args.days + 1}")
    else:
        files = write_days(args.work / "logs", args.rows_per_day, args.days + 1)
    options = RunOptions()
    store = args.work / "store"

    started = time.perf_counter()
    refresh(store, [str(p) for p in files[:-1]], options, days=args.days)
    first = time.perf_counter() - started

    started = time.perf_counter()
    result = refresh(store, [str(files[-1])], options, days=args.days)
    one_day = time.perf_counter() - started

    started = time.perf_counter()
    full_result = run_all([str(p) for p in files[1:]], args.work / "run", options)
    full = time.perf_counter() - started

    version, run = store / LATEST, args.work / "run"
    same = (version / "fits.json").read_bytes() == (run / "fits.json").read_bytes() and all(
        (version / "profiles" / p.name).read_bytes() == p.read_bytes()
        for p in (run / "profiles").iterdir()
        if p.is_file()
    )
    stats = [json.loads((d / "stats.json").read_text()) for d in (version, run)]
    for s in stats:
        for key in ("rows_read", "rows_accepted", "rows_rejected", "rejects_by_reason"):
            s["overview"].pop(key)
    seconds = result.run.seconds if result.run else {}
    fit_record = json.loads((version / "manifest.json").read_text())["stages"]["fit"]
    print(
        json.dumps(
            {
                "rows_per_day": args.rows_per_day,
                "days": args.days,
                "first_refresh_s": round(first, 1),
                "one_new_day_refresh_s": round(one_day, 1),
                "full_run_s": round(full, 1),
                "ratio": round(one_day / full, 3),
                # ingest of the version = assembling the stored days; the dump's own ingest,
                # absorption into its days and the diff are the rest of one_new_day_refresh_s
                "refresh_stage_s": {k: round(v, 1) for k, v in seconds.items()},
                "full_run_stage_s": {k: round(v, 1) for k, v in full_result.seconds.items()},
                "day_summaries_reused": result.reused_parts,
                "windows_fit_reused": fit_record.get("windows_fit_reused", 0),
                "windows_fitted": fit_record["windows"]["fitted"],
                "profiles_and_fits_identical": same,
                "stats_identical": stats[0] == stats[1],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
