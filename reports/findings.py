"""Key findings: the report's opening summary, generated from the run's JSON artefacts.

A capacity planner should get the answers from the first screen: how concentrated and how
bursty the traffic is, its daily shape, its length tails, the capacity a naive Poisson
generator misses, the status and 429 pressure, and the largest drift and anomalies. Every
number is quoted from `stats.json`, `validation.json` or `anomalies.json` (never derived
here) and carries the JSON pointer (RFC 6901) it came from, which the page keeps in the
number's ``<data>`` element; each item links to the section that shows the whole picture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reports.blocks import Finding, KeyFindings, Link, Number, Part, ReportInputs, Section
from reports.tables import duration, fmt, pct

MODELS_SHOWN = 3  # the largest models get a clause in each finding; the rest are counted
ANOMALIES_SHOWN = 3
FANO_SCALES = ((1, "1 s"), (60, "1 min"))
HEAVY_TAIL_INDEX = 10.0  # Pareto tail indexes quoted up to this; above, the tail is not heavy


def model_key(name: str, part: str = "") -> str:
    """The key of a model's section (or of its part, e.g. "Burstiness")."""
    return f"model:{name}:{part}" if part else f"model:{name}"


def telling_top_k(shares: Mapping[str, Any], n_clients: int) -> str:
    """The k of `top_k_share` worth quoting: "the top 5 send 100%" says nothing for a model
    with 5 clients, so the largest k below the number of clients, at most about 5."""
    below = [k for k in sorted(shares, key=int) if int(k) < n_clients] or ["1"]
    return below[-1] if int(below[-1]) <= 5 else next(k for k in below if int(k) >= 5)


def pointer(document: str, *tokens: str | int) -> str:
    """A JSON pointer (RFC 6901) into `document`; "~" and "/" in keys are escaped."""
    escaped = (str(t).replace("~", "~0").replace("/", "~1") for t in tokens)
    return f"{document}#/" + "/".join(escaped)


def _get(document: Any, *tokens: str | int) -> Any:
    for token in tokens:
        if isinstance(document, Mapping):
            document = document.get(token)
        elif isinstance(document, list) and isinstance(token, int) and token < len(document):
            document = document[token]
        else:
            return None
    return document


def _number(doc: Any, name: str, *tokens: str | int, unit: str) -> Number | None:
    """The value at `tokens` in `doc` (the artefact `name`), or None when absent or null."""
    value = _get(doc, *tokens)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return Number(value, _text(value, unit), pointer(name, *tokens), unit)


def _of_model(index: int, model: Any, *tokens: str | int, unit: str) -> Number | None:
    """A number of `model`, which is stats.json's models[index]."""
    number = _number(model, "stats.json", *tokens, unit=unit)
    if number is None:
        return None
    return Number(number.value, number.text, pointer("stats.json", "models", index, *tokens), unit)


def _text(value: float, unit: str) -> str:
    if unit == "share":
        return pct(value)
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "seconds":
        return duration(value)
    if unit == "hour":
        return f"{int(value):02d}:00"
    if unit == "offset":  # seconds from the origin (UTC midnight): time of day, then day
        day, second = divmod(int(value), 86400)
        clock = f"{second // 3600:02d}:{second % 3600 // 60:02d} UTC"
        return f"day {day + 1}, {clock}" if day else clock
    return fmt(value)


def _available(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("available", True) is not False


# --- one finding per topic ---------------------------------------------------------------------


def _largest_models(stats: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    models = list(enumerate(stats.get("models") or []))
    models.sort(key=lambda im: (-(im[1].get("n_requests") or 0), str(im[1].get("model"))))
    return models[:MODELS_SHOWN]


Clause = Callable[[int, Mapping[str, Any]], list[Part]]


def _per_model(stats: Mapping[str, Any], part: str, clause: Clause) -> tuple[tuple[Part, ...], ...]:
    """One line per model (the largest first), its name linking to its `part` section."""
    clauses: list[tuple[Part, ...]] = []
    for index, model in _largest_models(stats):
        said = clause(index, model)
        if said:
            name = str(model.get("model", ""))
            clauses.append((Link(name, model_key(name, part)), ": ", *said, "."))
    n_models = len(stats.get("models") or [])
    if clauses and n_models > MODELS_SHOWN:
        clauses.append((f"{n_models - MODELS_SHOWN} smaller model(s): in their own sections.",))
    return tuple(clauses)


def _concentration(index: int, model: Mapping[str, Any]) -> list[Part]:
    n_clients = _of_model(index, model, "n_clients", unit="count")
    if n_clients is None:
        return []
    if n_clients.value == 1:
        return ["one client sends every request"]
    shares = _get(model, "concentration", "by_requests", "top_k_share") or {}
    top = telling_top_k(shares, n_clients.value)
    share = _of_model(
        index, model, "concentration", "by_requests", "top_k_share", top, unit="share"
    )
    gini = _of_model(index, model, "concentration", "by_requests", "gini", unit="ratio")
    if share is None:
        return [n_clients, " clients"]
    said: list[Part] = (
        ["the largest of ", n_clients, " clients sends ", share]
        if top == "1"
        else [f"the top {int(top)} of ", n_clients, " clients send ", share]
    )
    said.append(" of requests")
    if gini is not None:
        said.extend([" (Gini ", gini, ")"])
    return said


def _burstiness(index: int, model: Mapping[str, Any]) -> list[Part]:
    burst = model.get("burstiness")
    if not _available(burst):
        return []
    said: list[Part] = []
    scales = _get(burst, "fano", "aggregate", "x") or []
    fanos = []
    for scale, label in FANO_SCALES:
        if scale in scales:
            number = _of_model(
                index,
                model,
                "burstiness",
                "fano",
                "aggregate",
                "y",
                scales.index(scale),
                unit="ratio",
            )
            if number is not None:
                fanos.append((number, label))
    if fanos:
        said.append("Fano factor ")
        for position, (number, label) in enumerate(fanos):
            if position:
                said.append(" and ")
            said.extend([number, f" at {label}"])
    above = _of_model(index, model, "burstiness", "share_cv_above_1", unit="share")
    median = _of_model(index, model, "burstiness", "cv_median_weighted", unit="ratio")
    if above is not None:
        said.extend([", " if said else "", above, " of requests in client windows with CV above 1"])
        if median is not None:
            said.extend([" (median CV ", median, ")"])
    return said


def _daily(index: int, model: Mapping[str, Any]) -> list[Part]:
    peak = _of_model(index, model, "periodicity", "peak_to_mean", unit="ratio")
    if peak is None:
        return []
    # A peak and a trough need two hours of the day; a log of one hour (Mooncake's) has
    # neither, and one of a few hours shows no daily shape, only those hours.
    covered = _get(model, "periodicity", "hourly_profile", "covered_s") or []
    hours_seen = sum(1 for c in covered if c)
    if covered and hours_seen < 2:
        return ["the log covers less than two hours of the day: no daily shape to read"]
    said: list[Part] = ["hourly peak-to-mean ", peak]
    busiest = _of_model(index, model, "periodicity", "busiest_hour_utc", unit="hour")
    quietest = _of_model(index, model, "periodicity", "quietest_hour_utc", unit="hour")
    if busiest is not None and quietest is not None:
        said.extend([", busiest hour ", busiest, " UTC, quietest ", quietest])
    if covered and hours_seen < len(covered):
        said.append(", over only the hours of the day the log covers")
    return said


def _tails(index: int, model: Mapping[str, Any]) -> list[Part]:
    said: list[Part] = []
    for name, label in (("input_tokens", "input"), ("output_tokens", "output")):
        median = _of_model(index, model, name, "p50", unit="tokens")
        p99 = _of_model(index, model, name, "p99", unit="tokens")
        if median is None or p99 is None:
            continue
        said.extend([", " if said else "", f"{label} median ", median, ", p99 ", p99])
    if not said:
        return []
    said.append(" tokens")
    alpha = _of_model(
        index,
        model,
        "lengths",
        "input_tokens",
        "fits",
        "pareto_lognormal",
        "alpha",
        unit="ratio",
    )
    # a tail index far above the few units of heavy tails means the fit found no real tail
    if (
        alpha is not None
        and alpha.value <= HEAVY_TAIL_INDEX
        and _available(_get(model, "lengths", "input_tokens", "fits", "pareto_lognormal"))
    ):
        said.extend([" (input Pareto tail index ", alpha, ")"])
    return said


def _status(index: int, model: Mapping[str, Any]) -> list[Part]:
    status = model.get("status")
    if not _available(status):
        return []
    success = _of_model(index, model, "status", "share_success", unit="share")
    limited = _of_model(index, model, "status", "share_429", unit="share")
    if success is None or limited is None:
        return []
    said: list[Part] = [success, " successful, "]
    if not limited.value:
        return [*said, "no request answered 429"]
    said.extend([limited, " answered 429"])
    spearman = _of_model(index, model, "status", "corr_429_vs_rate", "spearman", unit="ratio")
    if spearman is not None:
        said.extend([" (Spearman ", spearman, " with the window's request rate)"])
    return said


def _drift(index: int, model: Mapping[str, Any]) -> list[Part]:
    pairs = _get(model, "drift", "consecutive")
    if not isinstance(pairs, list) or not pairs:
        return []
    position = max(
        range(len(pairs)),
        key=lambda i: (pairs[i].get("ks") or 0.0, -i),  # the first on ties
    )
    pair = pairs[position]
    path = ("drift", "consecutive", position)
    ks = _of_model(index, model, *path, "ks", unit="ratio")
    first = _of_model(index, model, *path, "from", unit="index")
    second = _of_model(index, model, *path, "to", unit="index")
    if ks is None or first is None or second is None:
        return []
    return [
        f"largest shift in {str(pair.get('field', '')).replace('_', ' ')} between dataset windows ",
        first,
        " and ",
        second,
        " (KS ",
        ks,
        "; a large shift)" if pair.get("large_shift") else "; below the large-shift threshold)",
    ]


def _capacity(validation: Mapping[str, Any]) -> tuple[tuple[Part, ...], ...]:
    clauses: list[tuple[Part, ...]] = []
    for index, model in enumerate(validation.get("models") or []):
        base = ("models", index, "capacity")
        naive = _number(
            validation, "validation.json", *base, "under_provisioning_pct", "naive", unit="percent"
        )
        generated = _number(
            validation,
            "validation.json",
            *base,
            "under_provisioning_pct",
            "generated",
            unit="percent",
        )
        target = _number(validation, "validation.json", *base, "real", "target_s", unit="number")
        if naive is None:
            continue
        parts: list[Part] = [Link(str(model.get("model", "")), "validation"), ": "]
        if target is not None:
            parts.extend(["for a p99 wait of ", target, " s, "])
        parts.extend(["a naive Poisson generator under-provisions by ", naive])
        if naive.value < 0:
            parts.append(" (negative: over-provisions)")
        if generated is not None:
            parts.extend([", the per-client profiles by ", generated])
        clauses.append((*parts, "."))
    return tuple(clauses)


def _anomalies(anomalies: Mapping[str, Any]) -> tuple[tuple[Part, ...], ...]:
    events = anomalies.get("events")
    if not isinstance(events, list):
        return ()
    ranked = sorted(
        (i for i, e in enumerate(events) if isinstance(e, Mapping)),
        key=lambda i: (-_score(events[i]), i),
    )[:ANOMALIES_SHOWN]
    clauses: list[tuple[Part, ...]] = []
    for i in ranked:
        event = events[i]
        name = str(event.get("model", ""))
        parts: list[Part] = [
            Link(name, model_key(name)),
            f" / {event.get('client') or 'all clients'}: "
            f"{str(event.get('kind') or 'change').replace('_', ' ')} in "
            f"{event.get('metric', '-')} from ",
            _moment(anomalies, i, "start"),
            " to ",
            _moment(anomalies, i, "end"),
        ]
        observed = _number(anomalies, "anomalies.json", "events", i, "observed", unit="number")
        expected = _number(anomalies, "anomalies.json", "events", i, "expected", unit="number")
        score = _number(anomalies, "anomalies.json", "events", i, "score", unit="number")
        if observed is not None and expected is not None:
            parts.extend([", observed ", observed, " against ", expected, " expected"])
        if score is not None:
            parts.extend([" (score ", score, ")"])
        clauses.append((*parts, "."))
    more = len(events) - len(ranked)
    if clauses and more > 0:
        clauses.append((f"{more} more in anomalies.json.",))
    return tuple(clauses)


def _moment(anomalies: Mapping[str, Any], index: int, key: str) -> Part:
    """An event's start or end: seconds from the origin as a time of day, or its own text."""
    number = _number(anomalies, "anomalies.json", "events", index, key, unit="offset")
    return number if number is not None else str(_get(anomalies, "events", index, key) or "-")


def _score(event: Mapping[str, Any]) -> float:
    score = event.get("score")
    return float(score) if isinstance(score, int | float) else float("-inf")


# --- the section -------------------------------------------------------------------------------


def key_findings(inputs: ReportInputs) -> KeyFindings:
    stats = inputs.stats
    overview = stats.get("overview") or {}
    lead: list[Part] = []
    n_requests = _number(stats, "stats.json", "overview", "n_requests", unit="count")
    span = _number(stats, "stats.json", "overview", "span_s", unit="seconds")
    n_models = _number(stats, "stats.json", "overview", "n_models", unit="count")
    n_clients = _number(stats, "stats.json", "overview", "n_clients", unit="count")
    if n_requests is not None:
        lead.extend([n_requests, " requests"])
        if span is not None:
            lead.extend([" over ", span])
        if n_models is not None and n_clients is not None:
            models = " model from " if n_models.value == 1 else " models from "
            pairs = " (model, client) pair" if n_clients.value == 1 else " (model, client) pairs"
            lead.extend([" to ", n_models, models, n_clients, pairs])
        lead.append(". What matters for sizing and for generating this workload:")
    items = [
        Finding("Concentration", "models", _per_model(stats, "Clients", _concentration)),
        Finding(
            "Burstiness",
            "models",
            _per_model(stats, "Burstiness", _burstiness),
            "Fano factor and CV are 1 for Poisson arrivals, higher for bursts.",
        ),
        Finding("Daily shape", "models", _per_model(stats, "Periodicity", _daily)),
        Finding("Length tails", "models", _per_model(stats, "Request data", _tails)),
    ]
    capacity = "Capacity a naive generator misses"
    if inputs.validation is not None:
        items.append(Finding(capacity, "validation", _capacity(inputs.validation)))
    else:
        not_run = 'not measured for this run: "servechar validate" scores a naive Poisson '
        items.append(Finding(capacity, "", ((not_run + "generator against the log.",),)))
    status = _per_model(stats, "Operations", _status)
    items.append(
        Finding("Status and 429 pressure", "models", status or (("the log has no status codes.",),))
    )
    items.append(Finding("Largest drift", "models", _per_model(stats, "Request data", _drift)))
    if inputs.anomalies is not None:
        found = _anomalies(inputs.anomalies) or (("none found.",),)
        items.append(Finding("Anomalies", "models", found))
    shown = tuple(item for item in items if item.clauses)
    if overview and not lead:
        lead.append("What matters for sizing and for generating this workload:")
    return KeyFindings(tuple(lead), shown)


def findings_section(inputs: ReportInputs) -> Section:
    return Section("Key findings", (key_findings(inputs),), key="findings")


def numbers(block: KeyFindings) -> Sequence[Number]:
    """Every number the block quotes, in page order."""
    parts = [
        *block.lead,
        *(part for item in block.items for clause in item.clauses for part in clause),
    ]
    return [part for part in parts if isinstance(part, Number)]
