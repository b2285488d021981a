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
from tests.report_helpers import figure_specs, stats_with_requested_extras, write_hostile_log

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
