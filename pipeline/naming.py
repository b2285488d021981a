"""Turning untrusted names from the log into safe directory names and pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_DIR_NAME = 80


def model_dir_name(model: str) -> str:
    """A file-system-safe directory name for a model, unique per distinct model name.

    Names made only of letters, digits, '.', '_' and '-' (and not starting with '.') are kept
    as they are; any other name is cleaned and suffixed with a short hash of the original, so
    that two different models never share a directory.
    """
    cleaned = _UNSAFE.sub("_", model).lstrip("._-")[:_MAX_DIR_NAME]
    if cleaned and cleaned == model:
        return cleaned
    digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned or 'model'}-{digest}"


def pseudonym(client_id: str, salt: str) -> str:
    """A salted, keyed hash of a client id (HMAC-SHA256, 16 hex digits)."""
    return hmac.new(salt.encode("utf-8"), client_id.encode("utf-8"), hashlib.sha256).hexdigest()[
        :16
    ]
