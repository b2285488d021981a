"""Pure: numbers -> plotly figures, each with a title and axis titles that carry units.

No I/O and no statistics: every value drawn here was computed by the characterize stage
(`stats.json`). `figure_json` turns a figure into JSON that is safe inside a ``<script>``
element.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio

# y may hold nulls: plotly draws them as gaps in the line
Series = tuple[Sequence[float] | Sequence[str], Sequence[float | None]]

# Plotly's default template adds ~7 KB of styling to every figure; the empty one keeps each
# figure to its data (plotly.js's own defaults still give grid lines and a white canvas).
_BASE_LAYOUT = {
    "template": "none",
    "height": 380,
    "margin": {"l": 70, "r": 20, "t": 60, "b": 60},
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "v"},
    "hovermode": "closest",
}

# Powers of ten rather than SI prefixes ("1u", "10n" read badly for seconds and shares).
_LOG_AXIS = {"type": "log", "exponentformat": "power"}

# Inside <script>, "</script>" or "<!--" in the data would end or confuse the element, and
# U+2028/U+2029 are line ends in older JavaScript; plotly's own escaping covers < > / only.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def plotly_text(text: str) -> str:
    """A log string shown literally by plotly.js.

    plotly.js reads a subset of HTML in names and labels (``<a href>``, ``<b>``, ``<br>``):
    a client called ``<a href="https://...">`` would otherwise become a link in the legend.
    Entities are shown as the characters they stand for.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class Chart:
    """A figure and the one-line reading shown under it (generated from the numbers)."""

    title: str
    figure: go.Figure
    reading: str
    kind: str = field(default="chart", init=False)


def figure_json(figure: go.Figure) -> str:
    """The figure as JSON that cannot break out of the ``<script>`` element holding it."""
    return pio.to_json(figure, engine="json", validate=False).translate(_SCRIPT_SAFE)


# A figure with a menu gets a taller top margin: the title on the first row, the menu on the
# second, both left-aligned, so that neither covers the other at any width.
_MENU_MARGIN_TOP = 100
_MENU_POSITION = {"x": 0.0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"}


def _layout(title: str, x_title: str, y_title: str, **extra: object) -> dict[str, object]:
    has_menu = bool(extra.get("updatemenus"))
    margin = {**_BASE_LAYOUT["margin"], "t": _MENU_MARGIN_TOP} if has_menu else None  # type: ignore[dict-item]
    return {
        **_BASE_LAYOUT,
        **({"margin": margin, "height": _BASE_LAYOUT["height"] + 40} if margin else {}),  # type: ignore[operator]
        "title": {
            "text": title,
            "x": 0.0,
            "xref": "paper",
            "xanchor": "left",
            "y": 1.0,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 14},
        },
        "xaxis": {"title": {"text": x_title}, **extra.pop("xaxis", {})},  # type: ignore[dict-item]
        "yaxis": {"title": {"text": y_title}, **extra.pop("yaxis", {})},  # type: ignore[dict-item]
        **extra,
    }


FIT_META = "fit"  # trace.meta of a fitted curve: drawn, but the axes are sized to the data


def _positive(values: Sequence[float | None]) -> list[float | None]:
    # log(0) has no place on a log axis: such points become gaps instead of a plunge.
    return [v if v is not None and v > 0 else None for v in values]


def log_range(values: Iterable[float | str | None]) -> list[float] | None:
    """A log axis's range (in log10 units) from the smallest to the largest positive value.

    Plotly's autorange takes every trace into account: a fitted CCDF that falls to 1e-250
    would squash the data into a line at the top. Axes are sized to the data instead.
    """
    positive = [float(v) for v in values if isinstance(v, int | float) and v > 0]
    if not positive:
        return None
    low, high = math.log10(min(positive)), math.log10(max(positive))
    return [low, high] if high > low else [low, low + 1.0]  # one value: a decade above it


def _ranges(series: Sequence[tuple[str, Series]], *, log_x: bool, log_y: bool) -> dict[str, object]:
    """Layout entries fixing the log axes to the range of `series` (empty for linear axes)."""
    # the points drawn: a null, or a value <= 0 on a log axis, leaves a gap
    drawn = [
        (x, y)
        for _, (xs, ys) in series
        for x, y in zip(xs, ys, strict=False)
        if y is not None and (not log_y or y > 0) and (not log_x or (x is not None and x > 0))
    ]
    ranges: dict[str, object] = {}
    if log_x and (x_range := log_range(x for x, _ in drawn)):
        ranges["xaxis.range"] = x_range
    if log_y and (y_range := log_range(y for _, y in drawn)):
        ranges["yaxis.range"] = y_range
    return ranges


def _axes(ranges: Mapping[str, object], *, log_x: bool, log_y: bool) -> dict[str, object]:
    """xaxis/yaxis layout: log axes with their fixed range, linear ones autoranged."""
    axes: dict[str, object] = {}
    for name, is_log in (("xaxis", log_x), ("yaxis", log_y)):
        axis: dict[str, object] = dict(_LOG_AXIS) if is_log else {}
        if f"{name}.range" in ranges:
            axis["range"] = ranges[f"{name}.range"]
        axes[name] = axis
    return axes


def lines(
    title: str,
    x_title: str,
    y_title: str,
    series: Mapping[str, Series] | Sequence[tuple[str, Series]],
    *,
    log_x: bool = False,
    log_y: bool = False,
    reference: tuple[str, Series] | None = None,
    mode: str = "lines",
    selector: bool = False,
    points: Sequence[tuple[str, Series]] = (),
    fits: Sequence[tuple[str, Series]] = (),
    styles: Sequence[Mapping[str, object]] = (),
    x_ticks: Sequence[float] = (),
) -> go.Figure:
    """One line per named series, in the given order; `reference` is drawn dashed.

    `points` are drawn as markers after the lines (e.g. percentiles marked on a CCDF).
    `fits` are model curves drawn dashed over the data; log axes span the data (series,
    points and reference), not the fits. `styles` gives each series its own line style;
    `x_ticks` puts the x ticks there (e.g. whole ranks, never 1.5).

    With `selector`, a dropdown shows all series or one at a time (the client selector);
    on log axes, picking one series fits the axes to it.
    Series given as (name, data) pairs may share a name (client ids are arbitrary strings).
    """
    named = list(series.items()) if isinstance(series, Mapping) else list(series)
    if selector and (points or fits):
        raise ValueError("a figure with a client menu takes no extra `points` or `fits`")

    # unchecked traces (below): styles in plotly's own key order, empty ones left out
    line_of = [dict(sorted(style.items())) for style in styles]
    traces = [
        # connectgaps off: a null (a share undefined in an empty window) stays a gap.
        go.Scatter(
            _validate=False,
            x=list(x),
            y=_positive(y) if log_y else list(y),
            name=plotly_text(name),
            mode=mode,
            connectgaps=False,
            **({"line": line_of[index]} if index < len(line_of) and line_of[index] else {}),
            cliponaxis=False,  # a marker on the edge of a fitted range is drawn whole
        )
        for index, (name, (x, y)) in enumerate(named)
    ]
    traces.extend(
        go.Scatter(
            _validate=False,
            x=list(x),
            y=_positive(y) if log_y else list(y),
            name=plotly_text(name),
            mode="lines",
            line={"dash": "dash"},
            meta=FIT_META,
        )
        for name, (x, y) in fits
    )
    if reference is not None:
        name, (x, y) = reference
        traces.append(
            go.Scatter(
                _validate=False,
                x=list(x),
                y=list(y),
                name=name,
                mode="lines",
                line={"color": "#888", "dash": "dash"},
            )
        )
    traces.extend(
        go.Scatter(
            _validate=False,
            x=list(x),
            y=_positive(y) if log_y else list(y),
            name=plotly_text(name),
            mode="markers",
            marker={"size": 9, "symbol": "diamond"},
            cliponaxis=False,
        )
        for name, (x, y) in points
    )
    extent = [*named, *([reference] if reference else []), *points]
    extra: dict[str, object] = _axes(
        _ranges(extent, log_x=log_x, log_y=log_y), log_x=log_x, log_y=log_y
    )
    if x_ticks:
        extra["xaxis"] = {**extra["xaxis"], "tickvals": list(x_ticks)}  # type: ignore[dict-item]
    if selector and len(named) > 1:
        labels = [plotly_text(name) for name, _ in named]
        per_series = [
            _ranges([one, *([reference] if reference else [])], log_x=log_x, log_y=log_y)
            for one in named
        ]
        whole = _ranges(extent, log_x=log_x, log_y=log_y)
        extra["updatemenus"] = [_dropdown(labels, reference is not None, whole, per_series)]
    # the traces are plain lists built above: plotly's element-by-element checks of every
    # value (the report's largest cost) would change nothing in the figure's JSON
    layout = go.Layout(_layout(title, x_title, y_title, **extra))
    return go.Figure(traces, layout=layout, _validate=False)


def _dropdown(
    names: list[str],
    has_reference: bool,
    whole: Mapping[str, object],
    per_series: Sequence[Mapping[str, object]],
) -> dict[str, object]:
    """Buttons that show every series, or one series (plus the reference line).

    On log axes each button also sets the axis ranges to what it shows.
    """
    tail = [True] if has_reference else []
    buttons = [
        {
            "label": "all shown",
            "method": "update",
            "args": [{"visible": [True] * (len(names) + len(tail))}, dict(whole)],
        }
    ]
    for index, name in enumerate(names):
        visible = [i == index for i in range(len(names))] + tail
        buttons.append(
            {
                "label": name,
                "method": "update",
                "args": [{"visible": visible}, dict(per_series[index])],
            }
        )
    return {"buttons": buttons, **_MENU_POSITION}


def bars(
    title: str,
    x_title: str,
    y_title: str,
    categories: Sequence[str] | Sequence[float],
    values: Mapping[str, Sequence[float | None]] | Sequence[float | None],
    *,
    log_y: bool = False,
    stacked: bool = False,
    legend: bool | None = None,
) -> go.Figure:
    """Bars per category; several named value lists give grouped (or stacked) bars.

    Numeric categories (histogram bin centres) get a linear axis, text ones a category axis.
    The legend shows with several value lists, or when ``legend`` asks for it: one named list
    whose name says something the axis does not (e.g. that every bar is a partial hour).
    """
    numeric = all(isinstance(c, int | float) for c in categories)
    named = values if isinstance(values, Mapping) else {y_title: values}
    traces = [
        go.Bar(
            x=list(categories) if numeric else [plotly_text(str(c)) for c in categories],
            y=list(v),
            name=plotly_text(name),
        )
        for name, v in named.items()
    ]
    extra: dict[str, object] = {
        "yaxis": _LOG_AXIS if log_y else {},
        "xaxis": {"type": "linear" if numeric else "category"},
        "bargap": 0.05 if numeric else 0.2,
        "barmode": "stack" if stacked else "group",
        "showlegend": len(named) > 1 if legend is None else legend,
    }
    return go.Figure(traces, layout=_layout(title, x_title, y_title, **extra))


def stacked_groups(
    title: str,
    x_title: str,
    y_title: str,
    groups: Sequence[tuple[str, Sequence[float], Mapping[str, Sequence[float]]]],
) -> go.Figure:
    """Stacked areas per group (one layer per named part), a dropdown showing one group.

    Each group is (name, x, {part: y}); the first group is shown first. The menu is the
    client selector for figures whose series are themselves stacks.
    """
    traces = [
        [
            go.Scatter(
                x=list(x), y=list(y), name=plotly_text(part), mode="lines", stackgroup=f"g{index}"
            )
            for part, y in parts.items()
        ]
        for index, (_, x, parts) in enumerate(groups)
    ]
    return _one_group_at_a_time([name for name, _, _ in groups], traces, (title, x_title, y_title))


def grouped_lines(
    title: str,
    x_title: str,
    y_title: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, Series]]]],
    *,
    log_x: bool = False,
    log_y: bool = False,
) -> go.Figure:
    """Lines per group, a dropdown showing one group: its first series solid, the rest dashed.

    For a client menu where each client brings several curves (its data, then its fits): log
    axes span the group's data, and picking a group fits them to it.
    """
    traces = [
        [
            go.Scatter(
                x=list(x),
                y=_positive(y) if log_y else list(y),
                name=plotly_text(name),
                mode="lines",
                line={} if position == 0 else {"dash": "dash"},
                meta=None if position == 0 else FIT_META,
            )
            for position, (name, (x, y)) in enumerate(series)
        ]
        for _, series in groups
    ]
    ranges = [_ranges(list(series[:1]), log_x=log_x, log_y=log_y) for _, series in groups]
    return _one_group_at_a_time(
        [name for name, _ in groups],
        traces,
        (title, x_title, y_title),
        ranges,
        log_x=log_x,
        log_y=log_y,
    )


def _one_group_at_a_time(
    names: Sequence[str],
    traces: Sequence[Sequence[go.Scatter]],
    titles: tuple[str, str, str],
    ranges: Sequence[Mapping[str, object]] = (),
    *,
    log_x: bool = False,
    log_y: bool = False,
) -> go.Figure:
    """The first group's traces visible, and a dropdown (if more than one) to pick a group.

    Groups are told apart by position: their names are untrusted and may repeat. `ranges`
    are each group's fixed log-axis ranges, set when the group is picked.
    """
    owner_of = [index for index, group in enumerate(traces) for _ in group]
    flat = [trace for group in traces for trace in group]
    for trace, owner in zip(flat, owner_of, strict=True):
        trace.visible = owner == 0
    extra: dict[str, object] = _axes(ranges[0] if ranges else {}, log_x=log_x, log_y=log_y)
    if len(names) > 1:
        buttons = [
            {
                "label": plotly_text(name),
                "method": "update",
                "args": [
                    {"visible": [owner == index for owner in owner_of]},
                    dict(ranges[index]) if index < len(ranges) else {},
                ],
            }
            for index, name in enumerate(names)
        ]
        extra["updatemenus"] = [{"buttons": buttons, **_MENU_POSITION}]
    return go.Figure(flat, layout=_layout(*titles, **extra))


SHADE_COLOURS = {  # event kinds of anomalies.json; anything else is drawn grey
    "spike": "#e45756",
    "dip": "#4c78a8",
    "outage": "#222222",
    "level_shift": "#b279a2",
}


def shaded_lines(
    title: str,
    x_title: str,
    y_title: str,
    series: Sequence[tuple[str, Series]],
    spans: Sequence[tuple[float, float, str]],
) -> go.Figure:
    """`lines` with vertical bands over x in [start, end), one colour per kind (a timeline
    of events over the series they were found in). Each kind gets one legend entry."""
    figure = lines(title, x_title, y_title, series, styles=({}, {"dash": "dot", "color": "#888"}))
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": start,
            "x1": end,
            "y0": 0,
            "y1": 1,
            "fillcolor": SHADE_COLOURS.get(kind, "#999999"),
            "opacity": 0.25,
            "line": {"width": 0},
            "layer": "below",
        }
        for start, end, kind in spans
    ]
    for kind in sorted({kind for _, _, kind in spans}):
        figure.add_trace(  # a legend entry per kind (shapes have none)
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "symbol": "square", "color": SHADE_COLOURS.get(kind, "#999")},
                name=plotly_text(kind.replace("_", " ")),
            )
        )
    figure.update_layout(shapes=shapes)
    return figure
