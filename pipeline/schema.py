"""The canonical request-log columns that inputs are mapped onto."""

from __future__ import annotations

REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "model", "input_tokens", "output_tokens")
OPTIONAL_FIELD_COLUMNS: tuple[str, ...] = (
    "reason_tokens",
    "text_tokens",
    "image_count",
    "image_tokens",
    "audio_count",
    "audio_tokens",
    "video_count",
    "video_tokens",
)
"""Request data beyond input and output tokens (what ServeGen's categories sample)."""
ITEM_LIST_COLUMNS: tuple[str, ...] = ("image_tokens", "audio_tokens", "video_tokens")
"""Columns that may hold a list of per-item token counts (`[256, 576]`)."""
JSON_VALUE_COLUMNS: tuple[str, ...] = ("hash_ids",)
"""Columns kept as JSON as given: a list, or an object of lists (checked in staging)."""
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "client_id",
    "category",
    *OPTIONAL_FIELD_COLUMNS,
    "status",
    "ttft_ms",
    "e2e_ms",
    "request_id",
    "session_id",
    "hash_ids",
)
CANONICAL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

CATEGORIES: tuple[str, ...] = ("language", "multimodal", "reason")

NO_CLIENT_COLUMN_ID = "all"
"""client_id of every request in a file without a client column (one client)."""

MISSING_CLIENT_ID = " (no client id)"
"""client_id of a request whose client column is empty. Ingest trims every client id, so no
real client's id starts with a space: this name never merges with a real client."""

MAX_TOKENS = 2**31 - 1
"""The largest token count (or item count) a request may carry. Four billion requests at the
limit still sum within a 64-bit integer, so later stages cannot overflow."""

REJECT_REASONS: dict[str, str] = {
    "wrong_field_count": "the line has more or fewer fields than the header",
    "malformed_row": "the CSV reader could not parse the line (quotes, encoding, size)",
    "invalid_json": "the line is not valid JSON, or is valid JSON but not an object",
    "wrong_type": "a JSON field holds an object, a boolean or a list where a number or text is "
    "expected",
    "missing_timestamp": "timestamp is empty",
    "invalid_timestamp": "timestamp is neither a number nor ISO-8601 text",
    "nonexistent_local_time": "a naive timestamp falls in the --tz zone's DST gap (that wall-clock "
    "time never happened)",
    "ambiguous_local_time": "a naive timestamp falls in the --tz zone's DST overlap (it happened "
    "twice); --ambiguous earliest|latest picks one",
    "timestamp_out_of_range": "timestamp is before 1970 or after 2200 (check --time-unit)",
    "missing_model": "model is empty (or use --model for logs without one)",
    "missing_tokens": "input_tokens or output_tokens is empty",
    "non_integer_tokens": "a token count is not a plain integer (12.0 is fine; 12.5, 0x10 and "
    "1_000 are not)",
    "negative_tokens": "a token count is negative",
    "token_overflow": "a token or item count (or a list's sum) is above 2,147,483,647",
    "reason_exceeds_output": "reason_tokens is larger than output_tokens",
    "invalid_modality": "an image/audio/video count or token field is invalid or inconsistent",
    "modality_exceeds_input": "image + audio + video tokens exceed input_tokens",
    "invalid_category": "category is not language, multimodal or reason",
    "invalid_status": "status is not an HTTP code (100-599)",
    "invalid_latency": "ttft_ms or e2e_ms is not a non-negative number",
    "duplicate_request_id": "request_id already seen (the earliest arrival is kept)",
    "invalid_hash_ids": "hash_ids is not a JSON list (or an object of lists) of block ids",
}
"""Every quarantine reason, with the sentence printed in the README and summaries."""
