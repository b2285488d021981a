"""What the report shows on screen: each defect class a reader met, kept fixed.

A partly covered hour drawn as a lull, fitted curves that stretch a log axis to 1e-250, a
client menu over the figure's title, figures of signals that are empty (no 429s, one client,
two clients ranked), and fidelity numbers in another style than the rest of the page. The
layout as a browser draws it (overlaps, widths) is in test_report_browser.py.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from pipeline import RunOptions, run_all
from reports import figures
from reports.validation import scorecard_rows, validation_section
from tests.report_helpers import figure_specs

START = 1_735_752_600  # 2025-01-01T17:30:00Z
END = START + 104 * 60  # 19:14:00: hour 17 covers 30 minutes, hour 19 covers 14
RATE = 2.0  # requests per second, evenly spaced: the truth every hour's rate must give back


@pytest.fixture(scope="module")
def screen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """'solo': one client at 2 requests/s from 17:30 to 19:14 UTC; 'duo': two clients.
    Every request succeeds (status 200): there are no 429s to draw."""
    root = tmp_path_factory.mktemp("screen")
    log = root / "log.csv"
    with log.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["timestamp", "model", "client_id", "input_tokens", "output_tokens", "status"]
        )
        for i in range(int((END - START) * RATE) + 1):
            at = START + i / RATE
            writer.writerow([f"{at:.3f}", "solo", "only", 100 + (i * 37) % 900, 5 + i % 300, 200])
            if i % 4 == 0:
                client = "first" if i % 8 == 0 else "second"
                writer.writerow([f"{at:.3f}", "duo", client, 50 + i % 500, 10 + i % 90, 200])
    out = root / "out"
    run_all([str(log)], out, RunOptions())
    return out


def _model(stats: dict, name: str) -> dict:
    return next(m for m in stats["models"] if m["model"] == name)


def _stats(run: Path) -> dict:
    import json

    return json.loads((run / "stats.json").read_text())


def test_hour_of_day_rate_is_over_the_covered_time(screen_run: Path) -> None:
    period = _model(_stats(screen_run), "solo")["periodicity"]
    profile = period["hourly_profile"]
    # 17:30-18:00, 18:00-19:00 and 19:00-19:14 all run at 2 requests/s; dividing the
    # 14 minutes of hour 19 by a whole hour would give 0.47.
    for hour in (17, 18, 19):
        assert profile["y"][hour] == pytest.approx(RATE, rel=2e-3)
    assert profile["covered_s"][17] == pytest.approx(1800, abs=1e-3)
    assert profile["covered_s"][19] == pytest.approx(840, abs=1e-3)
    assert [h for h, p in enumerate(profile["partial"]) if p] == [17, 19]
    assert all(profile["y"][h] is None for h in range(24) if h not in (17, 18, 19))
    # peaks and troughs over whole hours: a flat rate has no peak
    assert period["peak_to_trough"] == pytest.approx(1.0, abs=1e-9)
    assert period["busiest_hour_utc"] == period["quietest_hour_utc"] == 18


def test_partial_hours_are_marked_in_the_daily_profile(screen_run: Path) -> None:
    html = (screen_run / "report.html").read_text(encoding="utf-8")
    specs = figure_specs(html)
    daily = [
        s
        for s in specs.values()
        if s["layout"]["title"]["text"].startswith("Mean request rate by hour")
    ]
    solo = next(s for s in daily if any(t["name"] == "partly covered hours" for t in s["data"]))
    partly = next(t for t in solo["data"] if t["name"] == "partly covered hours")
    marked = [x for x, y in zip(partly["x"], partly["y"], strict=True) if y is not None]
    assert marked == ["17", "19"]
    assert "19:00 (840 s of it)" in html or "19:00 (14 min of it)" in html


def test_no_429s_one_client_and_two_clients_say_why_instead_of_drawing(screen_run: Path) -> None:
    html = (screen_run / "report.html").read_text(encoding="utf-8")
    titles = [s["layout"]["title"]["text"] for s in figure_specs(html).values()]
    assert not [t for t in titles if "429" in t]
    assert html.count("Not drawn: the 429 share over time, against load and per client.") == 2
    assert "No request was answered 429" in html
    # one client: no Lorenz curve, top-k table or rank plot for it; two: no rank plot
    assert titles.count("Lorenz curve of requests and tokens over clients") == 1  # duo's
    assert html.count("Not drawn: client concentration") == 1
    assert "Requests per client by rank" not in titles
    assert "Not drawn: client rank plot." in html
    assert "With 2 clients the clients table below lists every client" in html
    # duo's top-k table keeps only k below its 2 clients
    top_k = html[html.index("<caption>Share of the top k clients</caption>") :]
    top_k = top_k[: top_k.index("</table>")]
    assert top_k.count("<tr>") == 2  # header and k = 1


def test_log_axes_span_the_data_not_the_fits(screen_run: Path) -> None:
    checked = 0
    for spec in figure_specs((screen_run / "report.html").read_text(encoding="utf-8")).values():
        for axis, column in (("yaxis", "y"), ("xaxis", "x")):
            if spec["layout"].get(axis, {}).get("type") != "log":
                continue
            data = [
                v
                for t in spec["data"]
                if t.get("meta") != figures.FIT_META and t.get("visible", True) is True
                for v in t[column]
                if isinstance(v, int | float) and v > 0
            ]
            low, high = spec["layout"][axis]["range"]
            assert 10**low >= min(data) * (1 - 1e-6), spec["layout"]["title"]["text"]
            if max(data) > min(data):  # one value gets a decade above it
                assert 10**high <= max(data) * (1 + 1e-6), spec["layout"]["title"]["text"]
            checked += 1
    assert checked > 5


def test_fitted_curves_stay_drawn_below_the_axis() -> None:
    data = ([1.0, 10.0, 100.0], [1.0, 0.1, 0.01])
    fit = ([1.0, 10.0, 100.0], [1.0, 1e-50, 1e-250])
    figure = figures.lines(
        "t", "x (s)", "P(X > x)", {"empirical": data}, log_x=True, log_y=True, fits=[("fit", fit)]
    )
    assert figure.layout.yaxis.range == (-2.0, 0.0)
    assert figure.layout.xaxis.range == (0.0, 2.0)
    assert list(figure.data[1].y) == fit[1] and figure.data[1].meta == figures.FIT_META


def test_a_client_menu_picks_its_own_axis_range() -> None:
    figure = figures.lines(
        "t",
        "x",
        "y",
        [("a", ([1, 10], [1.0, 10.0])), ("b", ([1, 10], [1e-3, 1e-2]))],
        log_x=True,
        log_y=True,
        selector=True,
    )
    buttons = figure.layout.updatemenus[0].buttons
    assert buttons[0].args[1]["yaxis.range"] == [-3.0, 1.0]  # all shown
    assert buttons[2].args[1]["yaxis.range"] == [-3.0, -2.0]  # b alone


def test_menus_sit_under_titles() -> None:
    figure = figures.lines(
        "A long title", "x", "y", [("a", ([0, 1], [0, 1])), ("b", ([0, 1], [1, 0]))], selector=True
    )
    layout = figure.layout
    # the title on the top row of the top margin, the menu just above the plot area
    assert layout.title.yref == "container" and layout.title.y == 1.0
    assert layout.updatemenus[0].yanchor == "bottom" and 1.0 <= layout.updatemenus[0].y < 1.1
    assert layout.margin.t >= 100
    no_menu = figures.lines("t", "x", "y", [("a", ([0, 1], [0, 1]))])
    assert no_menu.layout.margin.t < 100 and not no_menu.layout.updatemenus


def test_fidelity_numbers_and_figures_look_like_the_rest(sample_run: Path) -> None:
    validation = {
        "models": [
            {
                "model": "m",
                "arrivals": {
                    w: {
                        "n_requests": n,
                        "cv_interarrival": 1.234,
                        "fano": {"1": 1.0, "10": 1.0, "60": 1.0, "600": 1.0},
                        "peak_to_mean_1s": 3.0,
                        "p99_requests_per_s": 4.0,
                        "p99_tokens_per_s": 18312.0,
                    }
                    for w, n in (("real", 18312), ("generated", 17734.0), ("naive", 18088))
                },
                "window_rate_error": {"generated": 0.03, "naive": 0.07},
                "fields": {},
                "client_share_distance": 0.01,
                "spearman_input_output": {"real": 0.1, "generated": 0.1, "naive": 0.1},
                "capacity": {
                    w: {"throughput_tps": 1.0e6 / 3, "target_s": 2.0}
                    for w in ("real", "generated", "naive")
                }
                | {"under_provisioning_pct": {"generated": 1.9, "naive": 30.1}},
                "curves": {
                    "interarrival_ccdf": {
                        "x_s": [0.01, 0.1, 1.0],
                        "real": [1.0, 5e-4, 1e-4],
                        "generated": [1.0, 4e-4, 1e-4],
                        "naive": [1.0, 1e-9, 1e-30],
                    },
                    "fano_vs_scale": {
                        "scale_s": [1, 10],
                        "real": [1, 2],
                        "generated": [1, 2],
                        "naive": [1, 1],
                    },
                    "token_cdf": {"x_tokens": [1, 10]},
                },
            }
        ]
    }
    rows = {row[0]: row[1:] for row in scorecard_rows(validation["models"][0])}
    assert rows["requests"] == ["18,312", "17,734", "18,088"]  # not 1.83e+04
    assert rows["capacity for p99 wait (tokens/s)"][0] == "333,333"
    assert rows["under-provisioning vs real"] == ["-", "1.9%", "30.1%"]
    for _, figure, _ in validation_section(validation).figures:
        layout = figure.layout
        assert layout.template.layout.to_plotly_json() == {}  # the report's base style
        assert layout.font.family == "system-ui, sans-serif"
        for axis in (layout.xaxis, layout.yaxis):
            if axis.type == "log":
                assert axis.exponentformat == "power"  # 10^-4, never 100μ
                assert axis.range is not None
    assert math.isfinite(float(rows["CV of inter-arrival times"][0]))


def test_a_log_of_partial_hours_only_still_marks_them(screen_run: Path) -> None:
    """A log shorter than an hour's span on both sides (Azure's 57-minute code trace) has only
    partly covered hours: their one series must still say so in a legend."""
    from reports.figures import Chart
    from reports.sections.periodicity import periodicity_blocks

    model = _model(_stats(screen_run), "solo")
    profile = model["periodicity"]["hourly_profile"]
    profile["y"][18] = None
    profile["partial"][18] = False  # only hours 17 and 19 remain, both partial
    (chart,) = [b for b in periodicity_blocks(model) if isinstance(b, Chart)]
    names = [t.name for t in chart.figure.data]
    assert names == ["partly covered hours"]
    assert chart.figure.layout.showlegend is True


def test_token_cdfs_end_where_every_curve_reaches_one() -> None:
    """The token grid runs to 1e6; Azure's code lengths end near 8,000, and the flat CDF
    beyond took most of the axis."""
    from reports.validation import _until_every_curve_is_one

    grid = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]
    series = {
        "real": [0.1, 0.5, 0.9, 1.0, 1.0, 1.0, 1.0],
        "generated": [0.1, 0.6, 0.95, 0.99, 1.0, 1.0, 1.0],
        "naive": [],
    }
    x, kept = _until_every_curve_is_one(grid, series)
    assert x == [1.0, 10.0, 100.0, 1e3, 1e4]
    assert kept["generated"][-1] == 1.0 and kept["real"] == [0.1, 0.5, 0.9, 1.0, 1.0]
    assert kept["naive"] == []
    # a curve that never reaches 1 keeps the whole grid
    x, _ = _until_every_curve_is_one(grid, {"real": [0.1] * 7})
    assert x == grid


def test_fano_points_of_too_few_bins_are_left_out() -> None:
    """Azure's 57-minute code trace: two 1,800-s bins gave a naive Fano factor of 0.006."""
    from reports.validation import _with_enough_bins

    fano = {
        "scale_s": [1, 600, 1800, 3600],
        "n_bins": [3600, 6, 2, 1],
        "real": [13.7, 493.0, 2.8, None],
        "naive": [1.8, 487.0, 0.006, None],
        "generated": [],
    }
    kept = _with_enough_bins(fano)
    assert kept["scale_s"] == [1, 600]
    assert kept["real"] == [13.7, 493.0] and kept["naive"] == [1.8, 487.0]
    assert kept["generated"] == []
    without = {k: v for k, v in fano.items() if k != "n_bins"}
    assert _with_enough_bins(without) == without  # a file from before n_bins: drawn as is


def test_a_one_client_model_is_not_counted_as_one_top_clients(screen_run: Path) -> None:
    """'solo' has one client: the readings name it as the only one, never '1 top clients' or
    'The 1 largest contributors'."""
    html = (screen_run / "report.html").read_text(encoding="utf-8")
    assert "1 top clients" not in html
    assert "The 1 largest contributors" not in html
    assert "The largest contributor accounts for" in html  # solo
    assert "The 2 largest contributors account for" in html  # duo keeps the count
    assert "The 2 top clients at" in html


def test_top_client_readings_count_in_words() -> None:
    from reports.sections.common import _top_clients

    assert _top_clients(1) == "the only detailed client"
    assert _top_clients(3) == "the 3 top clients"
