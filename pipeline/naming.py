"""Turning untrusted names from the log into safe directory names and pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pipeline.rundir import RunDir

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASHED = re.compile(r".*-[0-9a-f]{8}")
_MAX_DIR_NAME = 80


def _hashed_name(model: str) -> str:
    cleaned = _UNSAFE.sub("_", model).lstrip("._-")[:_MAX_DIR_NAME]
    digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned or 'model'}-{digest}"


def model_dir_name(model: str) -> str:
    """A file-system-safe directory name for a model.

    Names made only of letters, digits, '.', '_' and '-' (not starting with '.', '_' or '-',
    at most 80 characters) are kept as they are, unless they end like a hashed name
    (`-` and 8 hex digits); any other name is cleaned and suffixed with a short hash of the
    original. A kept name therefore never equals a hashed one (`a/b` becomes `a_b-<hash>`,
    and a model literally named `a_b-<hash>` is hashed in turn).
    """
    if _UNSAFE.sub("_", model).lstrip("._-")[:_MAX_DIR_NAME] == model and not _HASHED.fullmatch(
        model
    ):
        return model
    return _hashed_name(model)


def model_dir_names(models: Iterable[str]) -> dict[str, str]:
    """Directory names for every model of a run, unique even on case-insensitive file systems.

    Models whose kept names differ only in case (`Llama` and `llama`) both take the hashed
    form. The result is checked: two models never share a directory.
    """
    names = {model: model_dir_name(model) for model in sorted(set(models))}
    by_folded: dict[str, list[str]] = {}
    for model, name in names.items():
        by_folded.setdefault(name.casefold(), []).append(model)
    for clashing in by_folded.values():
        if len(clashing) > 1:
            names.update({model: _hashed_name(model) for model in clashing})
    folded = [name.casefold() for name in names.values()]
    if len(set(folded)) != len(folded):  # only a hash-prefix collision could get here
        raise AssertionError(f"model directory names collide: {sorted(names.items())}")
    return names


def pseudonym(client_id: str, salt: str) -> str:
    """A salted, keyed hash of a client id (HMAC-SHA256, 16 hex digits)."""
    return hmac.new(salt.encode("utf-8"), client_id.encode("utf-8"), hashlib.sha256).hexdigest()[
        :16
    ]


def check_anonymization(run_dir: RunDir, anonymize: bool, stage: str) -> None:
    """Refuse to write original client ids when the export stage replaced them."""
    manifest = (
        json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
        if run_dir.manifest_path.exists()
        else {}
    )
    export_options = manifest.get("stages", {}).get("export", {}).get("options", {})
    if export_options.get("anonymize") and not anonymize:
        raise ConfigError(
            f"the profiles in {run_dir.root} were exported with --anonymize, but {stage} "
            "was asked for the original client ids",
            hint="Pass --anonymize with the same --salt (or SERVECHAR_SALT) as the export.",
        )
