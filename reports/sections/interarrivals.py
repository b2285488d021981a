"""Arrivals of a model: the rate over time and the inter-arrival distributions with fits
(stats.json's `rate` and `interarrivals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import (
    FAMILY_NAMES,
    NOTHING,
    _available,
    _ccdf_with_fits,
    _curve,
    _hours,
    _lacking,
    _missing,
    _top_clients,
    _when,
)
from reports.tables import fmt, pct, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def arrivals_blocks(model: ModelStats) -> list[Block]:
    blocks: list[Block] = []
    rate = model.get("rate")
    if _lacking(rate):
        return [_missing("request rate over time", rate)]
    per_minute = _curve(rate["per_minute"])
    if per_minute:
        xs, ys = per_minute
        peak, mean = rate["peak_rps"], rate["mean_rps"]
        reading = "Peak and mean rate: not in stats.json."
        if peak is not None:
            reading = f"Peak {fmt(peak)} requests/s at {_when(rate['peak_offset_s'])} UTC" + (
                f", {fmt(peak / mean)} times the mean of {fmt(mean)} requests/s." if mean else "."
            )
        bin_s = rate.get("bin_s", 60)
        blocks.append(
            Chart(
                "Aggregate request rate",
                figures.lines(
                    f"Aggregate request rate ({fmt(bin_s)} s bins)",
                    "time from origin (hours)",
                    "requests per second",
                    {"aggregate": (_hours(xs), ys)},
                ),
                reading,
            )
        )
    per_window = _curve(rate["per_window"])
    clients = rate["clients_per_window"] or {}
    if per_window and clients and model.get("n_clients", 0) > 1:  # one client = the aggregate
        xs = _hours(per_window[0])
        detailed = [c for c in model.get("detailed_clients", []) if c in clients]
        # A list, not a dict: a client may be called "all clients" too.
        series = [("all clients", (xs, per_window[1]))]
        series += [(client, (xs, clients[client]["y"])) for client in detailed]
        top: Mapping[str, Any] = next(iter(model.get("clients") or []), {})
        blocks.append(
            Chart(
                "Request rate per client",
                figures.lines(
                    "Request rate per trace window, top clients",
                    "time from origin (hours)",
                    "requests per second",
                    series,
                    selector=True,
                ),
                f"{len(detailed)} most active clients shown; the largest, {top.get('client_id')}, "
                f"sends {pct(top.get('request_share'))} of the model's requests.",
            )
        )
    per_minute_clients = rate["clients_per_minute"] or {}
    detailed = [c for c in model.get("detailed_clients", []) if _curve(per_minute_clients.get(c))]
    if detailed and model.get("n_clients", 0) > 1:
        bin_s = rate.get("bin_s", 60)
        blocks.append(
            Chart(
                "Request rate per client, fine resolution",
                figures.lines(
                    f"Request rate per top client ({fmt(bin_s)} s bins)",
                    "time from origin (hours)",
                    "requests per second",
                    [
                        (c, (_hours(per_minute_clients[c]["x"]), per_minute_clients[c]["y"]))
                        for c in detailed
                    ],
                    selector=True,
                ),
                f"{_top_clients(len(detailed)).capitalize()} at {fmt(bin_s)} s resolution; "
                "pick one in the menu to see its bursts.",
            )
        )
    blocks.extend(interarrival_blocks(model))
    return blocks


def interarrival_blocks(model: ModelStats) -> list[Block]:
    part = model.get("interarrivals")
    if _lacking(part):
        return [_missing("inter-arrival time distributions", part)]
    blocks: list[Block] = []
    aggregate = part["aggregate"]
    if not _lacking(aggregate):
        drawn = _ccdf_with_fits(
            "Inter-arrival times, all clients merged (CCDF)",
            "inter-arrival time (s)",
            aggregate,
            "inter-arrival times of the merged stream",
        )
        if drawn:
            blocks.extend(drawn)
    clients: Mapping[str, Any] = part["clients"] or {}
    detailed = [c for c in model.get("detailed_clients", []) if _available(clients.get(c))]
    if detailed:
        series = {c: _curve(clients[c].get("ccdf")) for c in detailed}
        shown = {c: xy for c, xy in series.items() if xy}
        if shown:
            counts: dict[str, int] = {}
            for c in shown:
                family = FAMILY_NAMES.get(clients[c].get("best_by_aic"), "-")
                counts[family] = counts.get(family, 0) + 1
            tally = ", ".join(
                f"{family} {n}"
                for family, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            blocks.append(
                Chart(
                    "Inter-arrival times per client",
                    figures.lines(
                        "Inter-arrival times per top client (CCDF)",
                        "inter-arrival time within a trace window (s)",
                        "P(X > x)",
                        shown,
                        log_x=True,
                        log_y=True,
                        selector=True,
                    ),
                    f"Best family by AIC over {_top_clients(len(shown))}: {tally}.",
                )
            )
            blocks.extend(_client_fit_overlay(clients, list(shown)))
            blocks.append(
                table(
                    "Best family per top client",
                    (
                        "client",
                        "intervals",
                        "best by AIC",
                        "its KS",
                        "best by KS",
                        "Vuong: first vs second",
                        "Vuong p-value",
                    ),
                    [_client_fit_row(c, clients[c]) for c in shown],
                    note="Vuong's test compares the two best families by AIC (p < 0.05: the "
                    "first is significantly closer to the data).",
                )
            )
    wins = part["family_wins"]
    if not _lacking(wins) and wins["n_windows"]:
        families = sorted(set(wins["by_aic"] or {}) | set(wins["by_ks"] or {}))
        lr = wins["lr_test"] or {}
        vuong = wins["vuong_top_two"] or NOTHING
        n = wins["n_windows"]
        blocks.append(
            table(
                f"Which family wins, over {fmt(n)} fitted trace windows",
                (
                    "family",
                    "windows best by AIC",
                    "windows best by KS",
                    "windows it wins by Vuong's test",
                ),
                [
                    (
                        FAMILY_NAMES.get(f, f),
                        (wins["by_aic"] or {}).get(f, 0),
                        (wins["by_ks"] or {}).get(f, 0),
                        (vuong["winner"] or {}).get(f, 0) if vuong else None,
                    )
                    for f in families
                ],
                note=" ".join(
                    text
                    for text in (
                        f"Likelihood-ratio test ({lr.get('test', 'Wilks')}): the Exponential "
                        f"(Poisson arrivals) is rejected at alpha {fmt(lr.get('alpha'))} in "
                        f"{fmt(lr.get('exponential_rejected'))} of {fmt(lr.get('n_windows'))} "
                        "windows."
                        if lr
                        else "",
                        f"Vuong's test between each window's two best families by AIC is "
                        f"significant at alpha {fmt(vuong['alpha'])} in "
                        f"{fmt(vuong['significant'])} of {fmt(vuong['n_windows'])} "
                        "windows (the last column counts the family it favours)."
                        if vuong
                        else "",
                    )
                    if text
                ),
            )
        )
    return blocks


def _client_fit_overlay(clients: Mapping[str, Any], shown: list[str]) -> list[Block]:
    """Each top client's inter-arrival CCDF with its own fitted families (menu: one client)."""
    groups = []
    for client in shown:
        xs, ys = _curve(clients[client].get("ccdf")) or ([], [])
        fits = clients[client].get("fits") or {}
        series = [("empirical", (xs, ys))] + [
            (f"{FAMILY_NAMES.get(family, family)} fit", (xs, fit["ccdf"]))
            for family, fit in sorted(fits.items())
            if _available(fit) and isinstance(fit.get("ccdf"), list)
        ]
        groups.append((client, series))
    if not groups:
        return []
    first = shown[0]
    best = FAMILY_NAMES.get(clients[first].get("best_by_aic"), "-")
    return [
        Chart(
            "Inter-arrival fits per client",
            figures.grouped_lines(
                "Inter-arrival times of one top client with its fitted families (CCDF)",
                "inter-arrival time within a trace window (s)",
                "P(X > x)",
                groups,
                log_x=True,
                log_y=True,
            ),
            f"The client's data (solid) against Gamma, Weibull, Exponential and Lognormal fitted "
            f"to it (dashed); shown first: {first}, best by AIC {best}. A dashed line that "
            "leaves the data in the tail misses the client's bursts or lulls.",
        )
    ]


def _client_fit_row(client: str, fit: Mapping[str, Any]) -> tuple[Any, ...]:
    best = fit.get("best_by_aic")
    vuong = fit.get("vuong_top_two") or {}
    return (
        client,
        fit.get("n"),
        FAMILY_NAMES.get(best, "-"),
        ((fit.get("fits") or {}).get(best) or {}).get("ks"),
        FAMILY_NAMES.get(fit.get("best_by_ks"), "-"),
        " vs ".join(FAMILY_NAMES.get(vuong.get(k), "-") for k in ("first", "second"))
        if vuong
        else "-",
        vuong.get("pvalue"),
    )
