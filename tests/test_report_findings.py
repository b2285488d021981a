"""The key findings: the first thing on the page, every number quoted from the artefacts.

Each number in the findings is a ``<data>`` element whose ``data-source`` is a JSON pointer
into stats.json, validation.json or anomalies.json; the test resolves it in the file the run
wrote, checks the value is the file's, and that the text shown is that value rounded.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reports.blocks import ReportInputs
from reports.build import assemble, render
from reports.findings import findings_section, key_findings, numbers, pointer
from tests.report_helpers import ANOMALIES, validated_copy

TOPICS = [
    "Concentration",
    "Burstiness",
    "Daily shape",
    "Length tails",
    "Capacity a naive generator misses",
    "Status and 429 pressure",
    "Largest drift",
    "Anomalies",
]


class _Findings(HTMLParser):
    """The first section's <data> elements, its items' text, and every element id."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # inside the first <section>
        self.done = False
        self.data: list[dict[str, Any]] = []
        self.items: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._open: dict[str, Any] | None = None
        self._item: list[str] | None = None
        self._nested = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if tag == "section" and not self.done:
            self.depth += 1
        if not self.depth:
            return
        if tag == "data":
            self._open = {**attributes, "text": ""}
        elif tag == "li":
            self._nested += 1
            if self._nested == 1:  # a finding, with its lines (nested items) in its text
                self._item = []
        elif tag == "a":
            self.links.append(str(attributes.get("href")))

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "data" and self._open is not None:
            self.data.append(self._open)
            self._open = None
        elif tag == "li":
            self._nested -= 1
            if self._nested == 0 and self._item is not None:
                self.items.append("".join(self._item))
                self._item = None
        elif tag == "section":
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data
        if self._item is not None:
            self._item.append(data)


def _parse(html: str) -> _Findings:
    parser = _Findings()
    parser.feed(html)
    return parser


def _resolve(run: Path, source: str) -> Any:
    """RFC 6901: 'file#/a/0/b~1c' -> the value in run/file."""
    name, _, path = source.partition("#/")
    value = json.loads((run / name).read_text(encoding="utf-8"))
    for token in path.split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def _shown(text: str, unit: str) -> float:
    """The number a reader sees, in the unit of the JSON value."""
    text = text.replace(",", "").replace("<", "")
    if unit == "share":
        return float(text.rstrip("%")) / 100
    if unit == "percent":
        return float(text.rstrip("%"))
    if unit == "hour":
        return float(text.split(":")[0])
    if unit == "offset":
        day = re.match(r"day (\d+), ", text)
        clock = text.split(", ")[-1].removesuffix(" UTC")
        hours, minutes = (int(part) for part in clock.split(":"))
        return (int(day.group(1)) - 1 if day else 0) * 86400 + hours * 3600 + minutes * 60
    if unit == "seconds":
        number, suffix = text.split(" ")
        return float(number) * {"s": 1, "min": 60, "h": 3600, "days": 86400}[suffix]
    return float(text)


def _tolerance(text: str, unit: str, value: float) -> float:
    """Half a unit of the last digit shown (in the JSON value's unit)."""
    if unit == "offset":
        return 60.0
    digits = text.replace(",", "").split(" ")[0].rstrip("%")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    step = 10.0**-decimals
    scale = {
        "share": 0.01,
        "seconds": {"s": 1, "min": 60, "h": 3600, "days": 86400}.get(text.split(" ")[-1], 1),
    }.get(unit, 1.0)
    return step * scale / 2 * (1 + 1e-9) + 1e-12 * abs(value)


@pytest.fixture(scope="module")
def validated(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return validated_copy(sample_run, tmp_path_factory.mktemp("findings") / "run")


def test_every_number_in_the_findings_is_the_artefacts_value(validated: Path) -> None:
    findings = _parse((validated / "report.html").read_text(encoding="utf-8"))
    assert len(findings.data) > 40
    sources = {d["data-source"].split("#")[0] for d in findings.data}
    assert sources == {"stats.json", "validation.json", "anomalies.json"}
    for element in findings.data:
        expected = _resolve(validated, element["data-source"])
        assert json.loads(element["value"]) == expected, element
        shown = _shown(element["text"], element["data-unit"])
        tolerance = _tolerance(element["text"], element["data-unit"], expected)
        assert shown == pytest.approx(expected, abs=tolerance), element


def test_findings_quote_the_statistics_the_issue_names(validated: Path) -> None:
    findings = _parse((validated / "report.html").read_text(encoding="utf-8"))
    assert [item.split(".")[0] for item in findings.items] == TOPICS
    paths = [d["data-source"] for d in findings.data]
    stats = json.loads((validated / "stats.json").read_text())
    for index, model in enumerate(stats["models"]):
        scales = model["burstiness"]["fano"]["aggregate"]["x"]
        for scale in (1, 60):  # Fano at 1 s and 1 min
            fano = pointer("stats.json", "models", index, "burstiness", "fano", "aggregate", "y")
            assert f"{fano}/{scales.index(scale)}" in paths
        for key in ("periodicity/peak_to_mean", "status/share_success", "input_tokens/p99"):
            assert f"stats.json#/models/{index}/{key}" in paths
    validation = json.loads((validated / "validation.json").read_text())
    for index in range(len(validation["models"])):
        naive = f"validation.json#/models/{index}/capacity/under_provisioning_pct/naive"
        assert naive in paths
    # anomalies by score, highest first
    assert paths.index("anomalies.json#/events/0/score") < paths.index(
        "anomalies.json#/events/1/score"
    )


def test_every_finding_links_to_a_section_of_the_page(validated: Path) -> None:
    findings = _parse((validated / "report.html").read_text(encoding="utf-8"))
    assert len(findings.links) > len(TOPICS)
    for href in findings.links:
        assert href.startswith("#") and href[1:] in findings.ids


def test_findings_come_before_the_first_figure(validated: Path) -> None:
    html = (validated / "report.html").read_text(encoding="utf-8")
    main = html[html.index("<main>") :]
    assert main.index("<h2>Key findings</h2>") < main.index('<div id="fig1" class="plot"')
    assert main.index("<h2>Key findings</h2>") < main.index("<h2>Overview</h2>")


def test_without_validation_or_anomalies_the_findings_say_so(sample_run: Path) -> None:
    stats = json.loads((sample_run / "stats.json").read_text())
    block = key_findings(ReportInputs(stats, {}, {}))
    topics = [item.topic for item in block.items]
    assert "Anomalies" not in topics
    capacity = next(i for i in block.items if i.topic == "Capacity a naive generator misses")
    assert capacity.clauses == (
        (
            'not measured for this run: "servechar validate" scores a naive Poisson generator '
            "against the log.",
        ),
    )
    assert all(n.source.startswith("stats.json#/") for n in numbers(block))
    # no status column: said in one line rather than left out
    for model in stats["models"]:
        model["status"] = {"available": False, "reason": "no status column"}
    status = next(
        i for i in key_findings(ReportInputs(stats, {}, {})).items if i.topic.startswith("Status")
    )
    assert status.clauses == (("the log has no status codes.",),)


def test_anomalies_of_another_shape_are_survived(sample_run: Path) -> None:
    stats = json.loads((sample_run / "stats.json").read_text())
    for anomalies, expected in (
        ({"format": "x", "events": []}, (("none found.",),)),
        ({"format": "x"}, (("none found.",),)),
    ):
        block = key_findings(ReportInputs(stats, {}, {}, anomalies=anomalies))
        assert next(i for i in block.items if i.topic == "Anomalies").clauses == expected
    odd = {"events": [{"model": "<b>x</b>", "score": "high"}, *ANOMALIES["events"]]}
    html, _ = render(assemble(ReportInputs(stats, {}, {}, anomalies=odd), (findings_section,)), "t")
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_log_shorter_than_a_day_gets_no_daily_shape_it_lacks(sample_run: Path) -> None:
    """Mooncake's 59-minute log fills one hour of the day: busiest and quietest are that same
    hour, and a peak-to-mean of 1 says nothing. Azure's 57-minute code trace touches two."""
    stats = json.loads((sample_run / "stats.json").read_text())

    def daily_line(hours_seen: list[int]) -> str:
        for model in stats["models"]:
            covered = model["periodicity"]["hourly_profile"]["covered_s"]
            for hour in range(len(covered)):
                covered[hour] = 3600.0 if hour in hours_seen else 0.0
        item = next(
            i for i in key_findings(ReportInputs(stats, {}, {})).items if i.topic == "Daily shape"
        )
        first = item.clauses[0]
        return "".join(p if isinstance(p, str) else getattr(p, "text", "") for p in first)

    one_hour = daily_line([0])
    assert "no daily shape to read" in one_hour and "busiest" not in one_hour
    two_hours = daily_line([18, 19])
    assert "busiest hour" in two_hours
    assert two_hours.endswith("over only the hours of the day the log covers.")
    assert "over only" not in daily_line(list(range(24)))
