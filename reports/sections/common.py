"""Helpers every report section shares: availability, time and count wording, curves, fit tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Unavailable
from reports.figures import Chart
from reports.tables import Table, fmt, table

if TYPE_CHECKING:
    from typing_extensions import TypeIs

    from pipeline.stages.characterize.common import Unavailable as UnavailablePart

TABLE_ROWS = 25  # rows of a per-client table before the rest fold into "others"


class _Lenient(dict[str, Any]):
    """A mapping of stats.json in which a missing key reads as null, as `.get` would: the
    report reads keys by index (which the type check sees) and still draws what a partial
    stats.json holds (older versions wrote fewer keys; the tests drop parts)."""

    def __missing__(self, key: str) -> None:
        return None


NOTHING = _Lenient()  # the fallback of an absent part whose keys are read next


def lenient(value: Any) -> Any:
    """`value` (parsed JSON) with every mapping in it lenient."""
    if isinstance(value, Mapping):
        return _Lenient((key, lenient(item)) for key, item in value.items())
    if isinstance(value, list):
        # curves are long lists of numbers: those are returned as they are without a call each
        return [item if type(item) in _SCALARS else lenient(item) for item in value]
    return value


_SCALARS = frozenset({float, int, str, bool, type(None)})


def _available(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("available", True) is not False


def _lacking(part: object) -> TypeIs[UnavailablePart | None]:
    """Not `_available`: stats.json lacks the part or says why it does not apply. A typed part
    past ``if _lacking(part): return ...`` is its available form, whose keys mypy checks."""
    return not _available(part)


def _missing(what: str, part: Any) -> Unavailable:
    """Why a statistic is not shown: the reason stats.json gives, or that it is absent."""
    if isinstance(part, Mapping) and part.get("reason"):
        return Unavailable(what, str(part["reason"]))
    return Unavailable(
        what, 'not in stats.json (re-run "servechar characterize" with this version)'
    )


def _hour(offset_s: float) -> str:
    """Seconds from the (midnight) origin as a UTC time of day, e.g. 14:05."""
    minutes = int(offset_s // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _when(offset_s: float | None) -> str:
    """Seconds from the origin as a UTC time of day, with the day number past the first."""
    if offset_s is None:
        return "-"
    day = int(offset_s // 86400)
    return f"day {day + 1}, {_hour(offset_s)}" if day else _hour(offset_s)


def _count(n: Any, noun: str) -> str:
    """'1 client', '2 clients', '1,000 clients'."""
    return f"{fmt(n)} {noun}" if n == 1 else f"{fmt(n)} {noun}s"


def _top_clients(n: int) -> str:
    """'the 3 top clients', or 'the only detailed client' (no '1 top clients')."""
    return "the only detailed client" if n == 1 else f"the {n} top clients"


def _curve(part: Any) -> tuple[list[Any], list[Any]] | None:
    if isinstance(part, Mapping) and part.get("x") and isinstance(part.get("y"), list):
        return part["x"], part["y"]
    return None


def _hours(xs: Sequence[float]) -> list[float]:
    return [x / 3600 for x in xs]


def _summary_row(label: str, summary: Mapping[str, Any] | None) -> list[Any]:
    summary = summary or {}
    return [label, *(summary.get(key) for key in ("n", "mean", "p50", "p90", "p99"))]


SUMMARY_COLUMNS = ("field", "n", "mean", "p50", "p90", "p99")
FAMILY_NAMES: dict[Any, str] = {  # keyed by any value stats.json holds there
    "gamma": "Gamma",
    "weibull_min": "Weibull",
    "expon": "Exponential",
    "lognorm": "Lognormal",
    "pareto_lognormal": "Pareto + lognormal mixture",
}


def _fits_table(caption: str, fits: Mapping[str, Any]) -> Table:
    rows = []
    for family, fit in sorted(fits.items(), key=lambda kv: _aic_key(kv[1])):
        if not _available(fit):
            rows.append((FAMILY_NAMES.get(family, family), "not fitted", None, None, None))
            continue
        params = fit.get("params") or {
            k: v
            for k, v in fit.items()
            if k not in {"loglik", "aic", "ks", "ccdf", "available", "n_used"}
            and not isinstance(v, list)
        }
        rows.append(
            (
                FAMILY_NAMES.get(family, family),
                ", ".join(f"{k}={fmt(v)}" for k, v in sorted(params.items())),
                fit.get("loglik"),
                fit.get("aic"),
                fit.get("ks"),
            )
        )
    return table(
        caption,
        ("family", "parameters", "log-likelihood", "AIC", "KS distance"),
        rows,
        note="Lower AIC is better (rows sorted by AIC); KS is the largest gap between the "
        "fitted and the empirical CDF.",
    )


def _aic_key(fit: Any) -> float:
    aic = fit.get("aic") if isinstance(fit, Mapping) else None
    return aic if isinstance(aic, int | float) else float("inf")


def _ccdf_with_fits(
    title: str, x_title: str, part: Mapping[str, Any], what: str
) -> tuple[Chart, Table] | None:
    curve = _curve(part.get("ccdf"))
    if not curve:
        return None
    xs, ys = curve
    fits = part.get("fits", {})
    fitted = [
        (f"{FAMILY_NAMES.get(family, family)} fit", (xs, fit["ccdf"]))
        for family, fit in sorted(fits.items())
        if _available(fit) and isinstance(fit.get("ccdf"), list)
    ]
    ranked = sorted(
        ((family, fit) for family, fit in fits.items() if _available(fit)),
        key=lambda kv: _aic_key(kv[1]),
    )
    reading = f"No family could be fitted to the {what}."
    if ranked:
        family, fit = ranked[0]
        reading = (
            f"Best fit by AIC: {FAMILY_NAMES.get(family, family)} (KS {fmt(fit.get('ks'))})"
            + (
                f"; the exponential (Poisson arrivals) has KS {fmt(fits['expon'].get('ks'))}."
                if _available(fits.get("expon")) and family != "expon"
                else "."
            )
        )
    chart = Chart(
        title,
        figures.lines(
            title, x_title, "P(X > x)", {"empirical": (xs, ys)}, log_x=True, log_y=True, fits=fitted
        ),
        reading,
    )
    fits_table = _fits_table(f"Fits: {what}", fits)
    vuong = part.get("vuong_top_two")
    if isinstance(vuong, Mapping) and vuong.get("first"):
        fits_table = Table(
            fits_table.caption,
            fits_table.columns,
            fits_table.rows,
            fits_table.numeric,
            f"{fits_table.note} {_vuong_text(vuong)}",
        )
    return chart, fits_table


def _vuong_text(vuong: Mapping[str, Any]) -> str:
    first = FAMILY_NAMES.get(vuong.get("first"), vuong.get("first"))
    second = FAMILY_NAMES.get(vuong.get("second"), vuong.get("second"))
    pvalue = vuong.get("pvalue")
    verdict = (
        f"{first} is significantly closer to the data"
        if isinstance(pvalue, float) and pvalue < 0.05 and (vuong.get("statistic") or 0) > 0
        else "the two cannot be told apart at the 5% level"
    )
    return (
        f"Vuong test of {first} against {second}: statistic {fmt(vuong.get('statistic'))}, "
        f"p-value {fmt(pvalue)}; {verdict}."
    )
