"""Pure: numbers -> plotly figures, each with a title and axis titles that carry units.

No I/O and no statistics: every value drawn here was computed by the characterize stage
(`stats.json`). `figure_json` turns a figure into JSON that is safe inside a ``<script>``
element.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio

Series = tuple[Sequence[float] | Sequence[str], Sequence[float]]

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


def _layout(title: str, x_title: str, y_title: str, **extra: object) -> dict[str, object]:
    return {
        **_BASE_LAYOUT,
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}, **extra.pop("xaxis", {})},  # type: ignore[dict-item]
        "yaxis": {"title": {"text": y_title}, **extra.pop("yaxis", {})},  # type: ignore[dict-item]
        **extra,
    }


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
) -> go.Figure:
    """One line per named series, in the given order; `reference` is drawn dashed.

    `points` are drawn as markers after the lines (e.g. percentiles marked on a CCDF).

    With `selector`, a dropdown shows all series or one at a time (the client selector).
    Series given as (name, data) pairs may share a name (client ids are arbitrary strings).
    """
    named = list(series.items()) if isinstance(series, Mapping) else list(series)
    if selector and points:
        raise ValueError("a figure with a client menu takes no extra `points`")

    def positive(values: Sequence[float | None]) -> list[float | None]:
        # log(0) has no place on a log axis: such points become gaps instead of a plunge.
        return [v if v is not None and v > 0 else None for v in values]

    traces = [
        # connectgaps off: a null (a share undefined in an empty window) stays a gap.
        go.Scatter(
            x=list(x),
            y=positive(y) if log_y else list(y),
            name=plotly_text(name),
            mode=mode,
            connectgaps=False,
        )
        for name, (x, y) in named
    ]
    if reference is not None:
        name, (x, y) = reference
        traces.append(
            go.Scatter(
                x=list(x),
                y=list(y),
                name=name,
                mode="lines",
                line={"dash": "dash", "color": "#888"},
            )
        )
    traces.extend(
        go.Scatter(
            x=list(x),
            y=positive(y) if log_y else list(y),
            name=plotly_text(name),
            mode="markers",
            marker={"size": 9, "symbol": "diamond"},
        )
        for name, (x, y) in points
    )
    extra: dict[str, object] = {
        "xaxis": _LOG_AXIS if log_x else {},
        "yaxis": _LOG_AXIS if log_y else {},
    }
    if selector and len(named) > 1:
        labels = [plotly_text(name) for name, _ in named]
        extra["updatemenus"] = [_dropdown(labels, reference is not None)]
    return go.Figure(traces, layout=_layout(title, x_title, y_title, **extra))


def _dropdown(names: list[str], has_reference: bool) -> dict[str, object]:
    """Buttons that show every series, or one series (plus the reference line)."""
    tail = [True] if has_reference else []
    buttons = [
        {
            "label": "all shown",
            "method": "restyle",
            "args": [{"visible": [True] * (len(names) + len(tail))}],
        }
    ]
    for index, name in enumerate(names):
        visible = [i == index for i in range(len(names))] + tail
        buttons.append({"label": name, "method": "restyle", "args": [{"visible": visible}]})
    return {"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}


def bars(
    title: str,
    x_title: str,
    y_title: str,
    categories: Sequence[str] | Sequence[float],
    values: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    log_y: bool = False,
    stacked: bool = False,
) -> go.Figure:
    """Bars per category; several named value lists give grouped (or stacked) bars.

    Numeric categories (histogram bin centres) get a linear axis, text ones a category axis.
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
        "showlegend": len(named) > 1,
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
    return _one_group_at_a_time(
        [name for name, _, _ in groups], traces, _layout(title, x_title, y_title)
    )


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

    For a client menu where each client brings several curves (its data and its fits).
    """

    def positive(values: Sequence[float | None]) -> list[float | None]:
        return [v if v is not None and v > 0 else None for v in values]

    traces = [
        [
            go.Scatter(
                x=list(x),
                y=positive(y) if log_y else list(y),
                name=plotly_text(name),
                mode="lines",
                line={} if position == 0 else {"dash": "dash"},
            )
            for position, (name, (x, y)) in enumerate(series)
        ]
        for _, series in groups
    ]
    layout = _layout(
        title,
        x_title,
        y_title,
        xaxis=_LOG_AXIS if log_x else {},
        yaxis=_LOG_AXIS if log_y else {},
    )
    return _one_group_at_a_time([name for name, _ in groups], traces, layout)


def _one_group_at_a_time(
    names: Sequence[str], traces: Sequence[Sequence[go.Scatter]], layout: dict[str, object]
) -> go.Figure:
    """The first group's traces visible, and a dropdown (if more than one) to pick a group.

    Groups are told apart by position: their names are untrusted and may repeat.
    """
    owner_of = [index for index, group in enumerate(traces) for _ in group]
    flat = [trace for group in traces for trace in group]
    for trace, owner in zip(flat, owner_of, strict=True):
        trace.visible = owner == 0
    if len(names) > 1:
        buttons = [
            {
                "label": plotly_text(name),
                "method": "restyle",
                "args": [{"visible": [owner == index for owner in owner_of]}],
            }
            for index, name in enumerate(names)
        ]
        layout = {
            **layout,
            "updatemenus": [
                {"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}
            ],
        }
    return go.Figure(flat, layout=layout)
