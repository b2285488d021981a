"""The report in a real headless browser: it loads offline, without errors, and draws every plot.

Uses Debian's chromium through playwright (no browser download). Without chromium or
playwright the tests skip, unless SERVECHAR_REQUIRE_BROWSER=1 (set by .ci/run), where they
fail instead: CI must never pass without having looked at the page.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline import RunOptions, run_all
from pipeline.rundir import RunDir
from reports import build_report
from tests.report_helpers import (
    figure_specs,
    stats_with_requested_extras,
    validated_copy,
    write_hostile_log,
)

CHROMIUM = os.environ.get("SERVECHAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = os.environ.get("SERVECHAR_REQUIRE_BROWSER") == "1"


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Any:
    reason = _missing_browser()
    if reason:
        if REQUIRED:
            pytest.fail(f"SERVECHAR_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open(browser: Any, report: Path) -> dict[str, Any]:
    """Load the report from file:// and collect what went wrong on the way."""
    page = browser.new_page()
    seen: dict[str, Any] = {"console": [], "errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["errors"].append(f"failed request {r.url}"))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(report.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('div.plot'))"
        ".every(d => d.querySelector('svg.main-svg g.trace') !== null)",
        timeout=30_000,
    )
    # plotly.js turns <a href> in names into links; escaped names must leave none.
    seen["links"] = page.evaluate(
        "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
        ".filter(h => !h.startsWith('#'))"
    )
    drawn = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('div.plot.js-plotly-plot'))"
        ".map(d => [d.id, d.querySelectorAll('svg.main-svg g.trace').length]))"
    )
    page.close()
    return {**seen, "drawn": drawn}


def _assert_clean(report: Path, seen: dict[str, Any]) -> None:
    specs = figure_specs(report.read_text(encoding="utf-8"))
    assert specs
    # Every figure drew one SVG trace per visible trace in its data (figures with a
    # one-client-at-a-time menu start with the other clients' traces hidden).
    assert seen["drawn"] == {
        figure_id: sum(trace.get("visible", True) is True for trace in spec["data"])
        for figure_id, spec in specs.items()
    }
    assert all(seen["drawn"].values())
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m.startswith(("error", "warning"))] == []
    assert seen["dialogs"] == []  # no injected script ran
    assert seen["links"] == []  # every link is an in-page anchor
    assert seen["requests"] == [report.resolve().as_uri()]  # the page itself, nothing else


def test_sample_report_renders_in_a_browser(browser: Any, sample_run: Path) -> None:
    report = sample_run / "report.html"
    _assert_clean(report, _open(browser, report))


def test_hostile_report_renders_without_running_injected_code(browser: Any, tmp_path: Path) -> None:
    log = write_hostile_log(tmp_path / "hostile.csv")
    run_all([str(log)], tmp_path / "out", RunOptions())
    report = tmp_path / "out" / "report.html"
    _assert_clean(report, _open(browser, report))


def test_requested_sections_render_in_a_browser(
    browser: Any, sample_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "extras"
    run.mkdir()
    for name in ("summary.json", "manifest.json"):
        (run / name).write_bytes((sample_run / name).read_bytes())
    stats = stats_with_requested_extras(json.loads((sample_run / "stats.json").read_text()))
    (run / "stats.json").write_text(json.dumps(stats))
    report = build_report(RunDir(run)).path
    _assert_clean(report, _open(browser, report))


def test_client_menu_shows_one_client(browser: Any, sample_run: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto((sample_run / "report.html").resolve().as_uri(), wait_until="load")
    figure_id = page.evaluate(
        "Array.from(document.querySelectorAll('div.plot'))"
        ".find(d => (d.layout.updatemenus || []).length > 0).id"
    )
    before = page.evaluate(f"document.getElementById('{figure_id}').data.length")
    page.locator(f"#{figure_id} .updatemenu-header").click()
    page.locator(f"#{figure_id} .updatemenu-dropdown-button").nth(2).click()  # 2nd series
    page.wait_for_timeout(200)
    visible = page.evaluate(f"document.getElementById('{figure_id}').data.map(t => t.visible)")
    page.close()
    assert before > 2
    assert visible == [index == 1 for index in range(before)]


# --- the page as a person sees it ------------------------------------------------------------

WIDTHS = (1400, 900)
AXIS_TOLERANCE = 1e-6  # relative: a log axis may not start below the data it shows

# Run in the page: every layout problem a reader would see, as text (empty: none).
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const box = (element) => element.getBoundingClientRect();
  const overlap = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const name = (plot) => `${plot.id} "${(plot.querySelector('.gtitle') || {}).textContent}"`;
  for (const plot of document.querySelectorAll('div.plot')) {
    const title = plot.querySelector('.gtitle');
    if (!title) { problems.push(`${plot.id}: no title`); continue; }
    const t = box(title);
    for (const other of plot.querySelectorAll('.updatemenu-container, g.legend')) {
      const o = box(other);
      if (o.width > 0 && overlap(t, o)) {
        problems.push(`${name(plot)}: its ${other.getAttribute('class')} covers the title`);
      }
    }
    const p = box(plot);
    if (t.right > p.right + 1 || t.left < p.left - 1) {
      problems.push(`${name(plot)}: the title runs out of the figure`);
    }
    const layout = plot._fullLayout;
    for (const axis of ['xaxis', 'yaxis']) {
      if (layout[axis].type !== 'log') continue;
      const values = [];
      for (const trace of plot.data) {
        if (trace.visible === false || trace.meta === 'fit') continue;
        for (const v of trace[axis[0]] || []) if (typeof v === 'number' && v > 0) values.push(v);
      }
      if (!values.length) continue;
      const smallest = Math.min(...values);
      const low = Math.pow(10, layout[axis].range[0]);
      if (low < smallest * (1 - TOLERANCE)) {
        problems.push(`${name(plot)}: ${axis} starts at ${low}, below its data (${smallest})`);
      }
    }
  }
  for (const table of document.querySelectorAll('table')) {
    const container = table.parentElement;
    if (table.getBoundingClientRect().width > container.clientWidth + 0.5) {
      const caption = (table.querySelector('caption') || {}).textContent;
      problems.push(`table "${caption}" is wider than its container`);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  }
  const findings = document.querySelector('main section');
  const firstPlot = document.querySelector('div.plot');
  if (!findings || findings.querySelector('h2').textContent !== 'Key findings') {
    problems.push('the page does not open with the key findings');
  } else if (firstPlot && box(findings).bottom > box(firstPlot).top) {
    problems.push('the key findings are not above the first figure');
  }
  return problems;
}
""".replace("TOLERANCE", repr(AXIS_TOLERANCE))


def _screenshots_dir(tmp_path: Path) -> Path:
    """SERVECHAR_SCREENSHOTS names where the screenshots go (CI keeps it), else the test's
    temporary directory."""
    chosen = os.environ.get("SERVECHAR_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def validated_report(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's report with the fidelity section, and key findings that quote anomalies."""
    return validated_copy(sample_run, tmp_path_factory.mktemp("validated") / "run") / "report.html"


@pytest.mark.parametrize("width", WIDTHS)
def test_report_reads_well_at_width(
    browser: Any, validated_report: Path, tmp_path: Path, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(validated_report.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('div.plot'))"
        ".every(d => d.querySelector('svg.main-svg g.trace') !== null)",
        timeout=60_000,
    )
    shots = _screenshots_dir(tmp_path)
    page.screenshot(path=str(shots / f"first-screen-{width}.png"))
    problems = page.evaluate(LAYOUT_PROBLEMS)
    if problems:
        # a picture of each figure or table named, so the failure can be seen, not guessed
        for index, selector in enumerate(_offenders(page, problems)):
            page.locator(selector).first.screenshot(
                path=str(shots / f"problem-{width}-{index}.png")
            )
        page.screenshot(path=str(shots / f"page-{width}.png"), full_page=True)
    page.close()
    assert problems == [], f"{len(problems)} layout problem(s); screenshots in {shots}"


def _offenders(page: Any, problems: list[str]) -> list[str]:
    ids = sorted({p.split(" ", 1)[0] for p in problems if p.startswith("fig")})
    return [f"#{figure_id}" for figure_id in ids][:20]


def test_layout_checks_catch_each_defect(browser: Any, sample_run: Path) -> None:
    """The checks above fail on the defects they guard against, put back into the page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((sample_run / "report.html").resolve().as_uri(), wait_until="load")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    problems = page.evaluate(
        """async (check) => {
        const plots = Array.from(document.querySelectorAll('div.plot'));
        const withMenu = plots.find(d => (d.layout.updatemenus || []).length > 0);
        const ccdf = plots.find(d => d.data.some(t => t.meta === 'fit'));
        // the menu moved up onto the title's row
        await Plotly.relayout(withMenu,
            {'updatemenus[0].y': 1.35, 'updatemenus[0].yanchor': 'top'});
        // autorange over the fits: down to their 1e-250
        await Plotly.relayout(ccdf, {'yaxis.autorange': true});
        document.querySelector('table').style.minWidth = '3000px';
        return [withMenu.id, ccdf.id, eval(check)()];
    }""",
        LAYOUT_PROBLEMS,
    )
    page.close()
    menu_id, ccdf_id, found = problems
    assert any(p.startswith(menu_id) and "covers the title" in p for p in found), found
    assert any(p.startswith(ccdf_id) and "yaxis starts at" in p for p in found), found
    assert any("is wider than its container" in p for p in found), found
