"""The HTML report: builds on the sample and on hostile names, offline, escaped, deterministic.

What "no external URLs" checks: the page with the inlined plotly.js removed holds no
``http://``/``https://`` text at all, no ``src=`` attribute, no ``href=`` other than in-page
``#anchors``, no ``<link>``, ``<iframe>``, ``<img>``, ``@import`` or ``url(``; and the page
carries a Content-Security-Policy that forbids every fetch. plotly.js itself contains URL
strings (licences, map tile attributions) that it never fetches for these trace types; the
browser test (test_report_browser.py) checks that no request leaves the page.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all, validate
from pipeline.cli import app
from pipeline.config import EngineOptions
from pipeline.errors import InputError
from pipeline.rundir import RunDir
from pipeline.synthetic import ClientSpec, generate
from reports import build_report
from reports.blocks import ReportInputs, Section
from reports.build import assemble, render
from reports.figures import figure_json, lines, plotly_text
from reports.sections import TABLE_ROWS, models_section
from reports.tables import fmt, pct, top_with_others
from reports.validation import validation_section
from tests.report_helpers import (
    HOSTILE_NAMES,
    figure_specs,
    stats_with_requested_extras,
    without_plotly_js,
    write_hostile_log,
)

runner = CliRunner()

# A report carries plotly.js (~4.8 MB) once; everything else must stay small even for 1,000
# clients, because tables and figures show only the top clients.
MAX_REPORT_BYTES = 7_000_000


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    log = write_hostile_log(out.parent / f"{out.name}.csv")
    run_all([str(log)], out, RunOptions())
    return out


def _check_offline(html: str, *, names_hold_urls: bool = False) -> None:
    page = without_plotly_js(html)
    if not names_hold_urls:  # else a URL may be shown (escaped) as a client's name
        assert "http://" not in page and "https://" not in page
    assert not re.search(r"\ssrc\s*=", page, re.IGNORECASE)
    # Attributes inside real tags only (escaped log text has no "<" left to open a tag).
    hrefs = re.findall(r"<[^>]*?\shref\s*=\s*[\"']?([^\"' >]*)", page, re.IGNORECASE)
    assert hrefs and all(h.startswith("#") for h in hrefs), hrefs
    for tag in ("<link", "<iframe", "<img", "<object", "<embed", "@import", "url("):
        assert tag not in page.lower(), tag
    assert "default-src 'none'" in page and "connect-src 'none'" in page


def test_sample_report_has_every_model_and_section(sample_run: Path) -> None:
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    stats = json.loads((sample_run / "stats.json").read_text())
    _check_offline(html)
    for model in stats["models"]:
        assert f"<h3>Model {model['model']}</h3>" in html
    for heading in ("Overview", "Models", "Methods"):
        assert f"<h2>{heading}</h2>" in html
    for term in ("CV", "Fano factor", "Gini", "KS", "AIC", "Vuong", "STL", "Wasserstein", "OLS"):
        assert term in html, term
    # The overview: the row account and each reject reason from summary.json.
    summary = json.loads((sample_run / "summary.json").read_text())
    assert f"{summary['rows_read']:,} rows read" in html
    for reason in summary["rejects_by_reason"]:
        assert f"<td>{reason}</td>" in html
    # Every figure has its data, a title, titled axes and a reading under it.
    specs = figure_specs(html)
    assert len(specs) == html.count('class="plot"') > 0
    for spec in specs.values():
        layout = spec["layout"]
        assert layout["title"]["text"]
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
    readings = re.findall(r"<figcaption>(.*?)</figcaption>", html, re.DOTALL)
    assert len(readings) == len(specs) and all(r.strip() for r in readings)
    # Size and build time are in the manifest.
    record = json.loads((sample_run / "manifest.json").read_text())["stages"]["report"]
    assert record["bytes"] == (sample_run / "report.html").stat().st_size
    assert record["figures"] == len(specs) and record["seconds"] >= 0


def test_report_is_byte_identical_when_rebuilt(sample_run: Path, tmp_path: Path) -> None:
    first = build_report(RunDir(sample_run), tmp_path / "first.html")
    # Rebuilding after the manifest has gained the report's own record changes nothing.
    result = runner.invoke(app, ["report", "--out", str(sample_run)])
    assert result.exit_code == 0, result.output
    second = build_report(RunDir(sample_run), tmp_path / "second.html")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.read_bytes() == (sample_run / "report.html").read_bytes()
    assert not re.search(r'id="[0-9a-f]{8}-[0-9a-f]{4}-', first.path.read_text())  # no uuids


def test_hostile_names_are_escaped_everywhere(hostile_run: Path) -> None:
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    _check_offline(html, names_hold_urls=True)
    page = without_plotly_js(html)
    n_figures = len(figure_specs(html))
    # Only our own elements: plotly.js, one data element per figure, and the loader.
    assert page.count("<script") == 2 + n_figures
    assert page.count("</script>") == 2 + n_figures
    for name in HOSTILE_NAMES:
        if set(name) & set("<>&\"'"):
            assert name not in page, name  # only ever escaped
    assert "<b>" not in page
    # Names are never ids or link targets (anchors come from a counter).
    assert not re.search(r'(id|href)="[^"]*(etc|script|quoted)', page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    # Every optional section the log feeds is drawn (hostile names in its tables too).
    for heading in ("Conversations", "Operations"):
        assert page.count(f"<h4>{heading}</h4>") == 3
    assert page.count("<caption>Status codes per client (by requests)</caption>") == 3
    assert "&#34;&#39;quoted&#39; &#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    # The names survive as data in the figures (legend, client selector), escaped for
    # plotly.js, which would otherwise draw <a href> and <b> in them.
    names_in_figures = {
        trace.get("name") for spec in figure_specs(html).values() for trace in spec["data"]
    }
    assert {plotly_text(name) for name in HOSTILE_NAMES} <= names_in_figures
    labels = {
        button["label"]
        for spec in figure_specs(html).values()
        for menu in spec["layout"].get("updatemenus", [])
        for button in menu["buttons"]
    }
    assert plotly_text(HOSTILE_NAMES[-1]) in labels and HOSTILE_NAMES[-1] not in labels
    # No raw U+2028/U+2029 inside a <script>, no "<" or "&" in figure JSON.
    for text in re.findall(r'id="fig\d+-data">(.*?)</script>', html, re.DOTALL):
        assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}


def test_anonymized_run_names_no_original_client(sample_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "anon"
    result = runner.invoke(app, ["run", "--out", str(out), "--anonymize", "--salt", "s3cret"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    stats = json.loads((sample_run / "stats.json").read_text())
    originals = {c["client_id"] for m in stats["models"] for c in m["clients"]}
    assert not [name for name in originals if f">{name}<" in html or f'"{name}"' in html]


def test_figure_json_cannot_close_its_script_element() -> None:
    figure = lines("t", "x (s)", "y", {"</script><script>alert(1)</script>&\u2028": ([1], [2])})
    text = figure_json(figure)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    name = "</script><script>alert(1)</script>&\u2028"
    assert json.loads(text)["data"][0]["name"] == plotly_text(name)


def test_report_without_stats_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Hint:" in result.output
    assert "servechar characterize" in result.output
    assert "Traceback" not in result.output


def test_report_of_other_stats_format_is_a_clear_error(sample_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    for name in ("summary.json", "manifest.json"):
        (run / name).write_bytes((sample_run / name).read_bytes())
    (run / "stats.json").write_text('{"format": "servechar.stats/0"}\n')
    # Through the library: the `report` command already refuses this directory, whose stages
    # left no stamps (tests/test_run_directory.py).
    with pytest.raises(InputError, match=r"servechar\.stats/1"):
        build_report(RunDir(run))


def test_unavailable_statistics_say_why() -> None:
    stats = {
        "format": "servechar.stats/1",
        "overview": {},
        "models": [
            {
                "model": "m",
                "category": "language",
                "periodicity": {
                    "available": True,
                    "daily": {"available": False, "reason": "the log spans fewer than 2 days"},
                    "weekly": {"available": False, "reason": "the log spans fewer than 2 weeks"},
                },
                "latency": {"available": False, "reason": "the log has no ttft_ms or e2e_ms"},
            }
        ],
    }
    inputs = ReportInputs(stats=stats, summary={}, manifest={})
    html, _ = render(assemble(inputs, (models_section,)), "t")
    assert "the log spans fewer than 2 days" in html
    assert "the log has no ttft_ms or e2e_ms" in html
    # Sections absent from stats.json are named as missing rather than silently dropped.
    assert "Not available: request rate over time" in html


def test_requested_statistics_are_drawn_when_present(sample_run: Path) -> None:
    def titles(html: str) -> list[str]:
        return [spec["layout"]["title"]["text"] for spec in figure_specs(html).values()]

    stats = json.loads((sample_run / "stats.json").read_text())
    before, _ = render(assemble(ReportInputs(stats, {}, {}), (models_section,)), "t")
    extra = ReportInputs(stats_with_requested_extras(stats), {}, {})
    after, _ = render(assemble(extra, (models_section,)), "t")
    requested = {
        "STL decomposition of the hourly rate, daily period",
        "Mean ttft_ms by token count",
        "Share of each top client's requests answered 429",
        # drawn once the model has 429s (the extras give it a 429 share)
        "Share of requests answered 429, per trace window",
        "429 share per decile of the trace window's request rate",
    }
    assert requested <= set(titles(after))
    # Each appears once, in the first model, whether or not stats.json already had it.
    new = requested - set(titles(before))
    assert len(titles(after)) == len(titles(before)) + len(new)


def test_validation_and_time_quality_get_their_sections(sample_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "later"
    shutil.copytree(sample_run, run)
    before = build_report(RunDir(run))
    text_before = before.path.read_text(encoding="utf-8")
    assert "Timestamps per model" in text_before and "Fidelity:" not in text_before
    result = validate.run(RunDir(run), validate.ValidateOptions(seed=1), EngineOptions())
    assert result.report == run / "report.html"  # validate rebuilds the report
    html = result.report.read_text(encoding="utf-8")
    assert "<h2>Fidelity: generated workloads against the real log</h2>" in html
    assert "Scorecard" in html and "under-provisioning" in html
    quality = json.loads((run / "aggregate" / "time_quality.json").read_text())
    for model in quality["models"]:
        assert f"<td>{model}</td>" in html
    # the sample spans 00:00:03-23:59:50 of one day: a whole day, not a partial one
    assert not any(model["is_partial_day"] for model in quality["models"].values())
    # every overlaid distribution of validation.json is drawn
    document = json.loads((run / "validation.json").read_text())
    added = len(validation_section(document).figures)
    assert added >= 3 * len(document["models"])
    assert build_report(RunDir(run)).n_figures == before.n_figures + added


def test_sections_plug_in_with_one_function() -> None:
    inputs = ReportInputs(stats={"format": "servechar.stats/1"}, summary={}, manifest={})

    def extra(_: ReportInputs) -> Section:
        return Section("Extra", ())

    def nothing(_: ReportInputs) -> None:
        return None

    sections = assemble(inputs, (extra, nothing))
    assert [(s.title, s.anchor) for s in sections] == [("Extra", "s1")]


@pytest.mark.slow
def test_thousand_clients_stay_readable_and_small(tmp_path: Path) -> None:
    specs = [
        ClientSpec(f"client-{i:04d}", "big-model", rate_rps=2.0 / (i + 1)) for i in range(1000)
    ]
    log = tmp_path / "many.csv"
    generate(specs, duration_s=2 * 3600, seed=3).write_csv(log)
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions())
    html = (out / "report.html").read_text(encoding="utf-8")
    size = (out / "report.html").stat().st_size
    assert size < MAX_REPORT_BYTES, size
    _check_offline(html)
    # The clients table: the top rows, then one "others" row for the rest.
    table = html.split("<caption>Clients by requests</caption>")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + TABLE_ROWS + 1
    assert "others (" in table
    # The client selector lists only the detailed clients, not all 1,000.
    for spec in figure_specs(html).values():
        for menu in spec["layout"].get("updatemenus", []):
            assert len(menu["buttons"]) <= 1 + 20


def test_long_tables_fold_the_rest_into_one_others_row() -> None:
    rows = [(f"c{i}", 10 - i, 0.1) for i in range(10)]
    shown, folded = top_with_others(rows, 3, label="others", summed=(1, 2))
    assert folded == 7 and len(shown) == 4
    assert shown[:3] == rows[:3]
    assert shown[3][0] == "others (7)" and shown[3][1] == sum(10 - i for i in range(3, 10))
    assert shown[3][2] == pytest.approx(0.7)
    assert top_with_others(rows, 10, label="others", summed=(1,)) == (rows, 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (float("nan"), "-"),
        (1234567, "1,234,567"),
        (0.000123, "0.000123"),
        (0.0000123, "1.23e-05"),
        (3.14159, "3.14"),
        (2500.0, "2,500"),
        (True, "yes"),
    ],
)
def test_numbers_are_formatted_for_people(value: object, text: str) -> None:
    assert fmt(value) == text


def test_tiny_shares_are_not_shown_as_zero() -> None:
    assert pct(1 / 29_629) == "<0.1%" and pct(0.0) == "0.0%" and pct(0.5) == "50.0%"


def test_any_missing_part_of_a_model_is_survived(sample_run: Path) -> None:
    """stats.json grows section by section: a model missing any one key still renders."""
    stats = json.loads((sample_run / "stats.json").read_text())
    # One model per run of the loop costs ~0.3 s; the reasoning model has every common part.
    stats["models"] = [m for m in stats["models"] if m["category"] == "reason"]
    for index, model in enumerate(stats["models"]):
        for key in sorted(model):
            if key in {"model", "category"}:
                continue
            partial = json.loads(json.dumps(stats))
            del partial["models"][index][key]
            html, n_figures = render(
                assemble(ReportInputs(partial, {}, {}), (models_section,)), "t"
            )
            assert n_figures > 0 and f"Model {model['model']}" in html, key


def test_each_top_client_gets_its_fitted_families_overlaid(sample_run: Path) -> None:
    stats = json.loads((sample_run / "stats.json").read_text())
    specs = figure_specs((sample_run / "report.html").read_text(encoding="utf-8"))
    overlays = [
        s
        for s in specs.values()
        if s["layout"]["title"]["text"].startswith(
            "Inter-arrival times of one top client with its fitted families"
        )
    ]
    chat = next(m for m in stats["models"] if m["model"] == "chat-large")
    clients = chat["interarrivals"]["clients"]
    fitted = [c for c in chat["detailed_clients"] if clients[c]["available"]]
    figure = overlays[0]  # models are in stats.json order: chat-large is the first
    menu = [b["label"] for b in figure["layout"]["updatemenus"][0]["buttons"]]
    assert menu == fitted and len(fitted) > 1
    first = clients[fitted[0]]
    shown = [t for t in figure["data"] if t["visible"] is True]
    assert [t["name"] for t in shown] == [
        "empirical",
        "Exponential fit",
        "Gamma fit",
        "Lognormal fit",
        "Weibull fit",
    ]
    assert shown[0]["x"] == first["ccdf"]["x"]
    assert shown[2]["y"] == [y if y > 0 else None for y in first["fits"]["gamma"]["ccdf"]]
    # picking the second client shows exactly its five curves
    second = figure["layout"]["updatemenus"][0]["buttons"][1]["args"][0]["visible"]
    assert sum(second) == 5 and second.index(True) == 5
