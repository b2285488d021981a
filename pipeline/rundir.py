"""The run directory: where each stage's artefacts live, and the one manifest."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.errors import StageOrderError


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` so that readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    move_into_place(tmp, path)
    return path


def move_into_place(tmp: str | Path, path: Path) -> None:
    """Publish a finished temporary file: ordinary permissions (mkstemp makes 0600), then an
    atomic rename."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_ready(value: Any, significant_digits: int) -> Any:
    """Numbers ready for deterministic JSON: numpy scalars become Python ones, NaN/inf become
    null, floats keep `significant_digits` (stable across platforms), keys become strings (so
    that sorting keys is well defined)."""
    import numpy as np  # lazily: the CLI's help path does not need it

    if isinstance(value, dict):
        return {str(k): json_ready(v, significant_digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v, significant_digits) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return float(f"{number:.{significant_digits}g}")
    return value


def dumps_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_json(path: Path, data: Any, *, compact: bool = False) -> Path:
    """Deterministic JSON; `compact` drops the indent so that large files use the C encoder."""
    if compact:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
        return write_text_atomic(path, text)
    return write_text_atomic(path, dumps_json(data))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RunDir:
    """Paths of one run's artefacts (the `--out` directory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def temp_dir(self) -> Path:
        return self.root / ".tmp"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def require(self, relative: str, stage: str) -> Path:
        """An artefact another stage wrote; a clear error when that stage has not run."""
        path = self.path(relative)
        if not path.exists():
            raise StageOrderError(
                f"{path} does not exist",
                hint=f"Run `servechar {stage} --out {self.root}` first (or `servechar run`).",
            )
        return path

    def read_json(self, relative: str, stage: str) -> Any:
        return json.loads(self.require(relative, stage).read_text(encoding="utf-8"))

    def update_manifest(self, stage: str, record: dict[str, Any]) -> None:
        """Record one stage's config, inputs, outputs and timing in manifest.json."""
        manifest: dict[str, Any] = {}
        if self.manifest_path.exists():
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        manifest.setdefault("stages", {})[stage] = record
        manifest["versions"] = _versions()
        write_json(self.manifest_path, manifest)


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("servechar", "duckdb", "polars", "pyarrow", "numpy", "scipy", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
