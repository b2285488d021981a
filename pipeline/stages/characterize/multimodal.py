"""stats.json's `multimodal`: modality shares and sizes per dataset window."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    Context,
    Summary,
    Unavailable,
    _dicts,
    _quantiles,
    _unavailable,
)
from pipeline.stages.characterize.values import ValueTables, percentiles

MODALITIES = ("image", "audio", "video")
SUMMED = (
    "n",
    "input_tokens_sum",
    "text_tokens_sum",
    *(f"{m}_{what}" for m in MODALITIES for what in ("requests", "items", "tokens_sum")),
)


class Modality(TypedDict):
    request_share: float | None
    items_per_request: Summary
    tokens_per_item: Summary
    token_share: float | None  # of the input tokens


class ModalityMix(TypedDict):
    n: int
    modalities: dict[str, Modality]  # image, audio, video
    text_token_share: float | None


class Multimodal(ModalityMix):
    """stats.json's `models[].multimodal`: the whole log's mix, and shares per dataset window
    (`over_windows` rows: dataset_index, start_s, n, text_token_share, <modality>_request_share).
    """

    available: Literal[True]
    over_windows: list[dict[str, Any]]


def _multimodal(rows: list[dict[str, Any]] | None, period_s: int) -> Multimodal | Unavailable:
    if not rows or not any(int(rows[0][f"{m}_requests"]) for m in MODALITIES):
        return _unavailable("no successful request of this model carries image, audio or video")

    def mix(row: dict[str, Any]) -> ModalityMix:
        n = int(row["n"])
        input_sum = int(row["input_tokens_sum"])
        modalities: dict[str, Modality] = {}
        for m in MODALITIES:
            with_items = int(row[f"{m}_requests"])
            items = int(row[f"{m}_items"])
            tokens = int(row[f"{m}_tokens_sum"])
            modalities[m] = {
                "request_share": with_items / n if n else None,
                "items_per_request": {
                    "n": with_items,
                    "mean": items / with_items if with_items else None,
                    **_quantiles(row[f"{m}_item_q"]),
                },
                "tokens_per_item": {
                    "n": items,
                    "mean": tokens / items if items else None,
                    **_quantiles(row[f"{m}_per_item_q"]),
                },
                "token_share": tokens / input_sum if input_sum else None,
            }
        return {
            "n": n,
            "modalities": modalities,
            "text_token_share": int(row["text_tokens_sum"]) / input_sum if input_sum else None,
        }

    whole = mix(rows[0])  # the grouping set without period sorts first
    over_windows = []
    for row in rows[1:]:
        period = mix(row)
        over_windows.append(
            {
                "dataset_index": int(row["period_index"]),
                "start_s": int(row["period_index"]) * period_s,
                "n": period["n"],
                "text_token_share": period["text_token_share"],
                **{
                    f"{m}_request_share": period["modalities"][m]["request_share"]
                    for m in MODALITIES
                },
            }
        )
    return {"available": True, **whole, "over_windows": over_windows}


def load_multimodal(context: Context, values: ValueTables) -> dict[int, list[dict[str, Any]]]:
    """Per model: the whole log's modality mix (first) and one row per dataset window, from the
    merged modality_mix summary; item and per-item token percentiles from the value tables."""
    periods: dict[int, list[dict[str, Any]]] = {}
    for row in _dicts(sqlrun.query(context.con, "characterize/multimodal")):
        periods.setdefault(int(row["model_key"]), []).append(row)
    result: dict[int, list[dict[str, Any]]] = {}
    for key, rows in periods.items():
        fields = values.get(key, {})
        whole: dict[str, Any] = {"model_key": key, "period_index": None}
        for name in SUMMED:
            whole[name] = sum(int(row[name]) for row in rows)
        for m in MODALITIES:
            whole[f"{m}_item_q"] = percentiles(fields.get(f"{m}_count"))
            whole[f"{m}_per_item_q"] = percentiles(fields.get(f"{m}_tokens_per_item"))
        for row in rows:  # the windows' mixes use counts and sums only
            for m in MODALITIES:
                row[f"{m}_item_q"] = row[f"{m}_per_item_q"] = None
        result[key] = [whole, *rows]
    return result
