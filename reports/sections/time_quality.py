"""Timestamp quality from the aggregate stage (aggregate/time_quality.json)."""

from __future__ import annotations

from reports.blocks import Paragraph, ReportInputs, Section
from reports.tables import table

IDENTITY_WORDS = {
    "client_id": "clients are the log's client ids",
    "session_id": "clients are sessions (the log has no tenant or key column)",
    "single_client": "the log has no client column: all requests are one client, all",
}


def time_quality_section(inputs: ReportInputs) -> Section | None:
    """Timestamp resolution, quantization, idle gaps and day coverage (aggregate stage)."""
    quality = inputs.quirks
    if not quality:
        return None
    rows = []
    notes = []
    for name, model in sorted(quality.get("models", {}).items()):
        rows.append(
            (
                name,
                model.get("requests"),
                model.get("distinct_arrival_times"),
                model.get("timestamp_resolution_s"),
                model.get("is_quantized"),
                model.get("longest_idle_gap_s"),
                model.get("covers"),
                model.get("is_partial_day"),
            )
        )
        if model.get("sub_resolution_note"):
            notes.append(Paragraph(f"{name}: {model['sub_resolution_note']}."))
        if model.get("is_partial_day"):
            notes.append(
                Paragraph(
                    f"{name}: the log covers {model.get('covers')} only, less than a day; "
                    "profile times still count from UTC midnight, so hour-of-day statistics "
                    "describe that part of the day only."
                )
            )
    identity = IDENTITY_WORDS.get(str(quality.get("identity")), str(quality.get("identity")))
    summary = table(
        "Timestamps per model",
        (
            "model",
            "requests",
            "distinct times",
            "resolution (s)",
            "quantized",
            "longest idle gap (s)",
            "covers (UTC)",
            "less than a day",
        ),
        rows,
    )
    return Section(
        "Timestamps and coverage", (Paragraph(f"Who is a client: {identity}."), summary, *notes)
    )
