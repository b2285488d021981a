"""The run directory: where each stage's artefacts live, what they were computed from, and
the one manifest.

Each stage runs under `stage(...)` (a decorator of its `run` function):

* it holds the directory's lock (`pipeline.runlock`), so a second writer stops at once;
* it checks that every stage it reads has finished and is current (see below) before it starts;
* it writes its outputs beside the run's files (`RunDir.output`, under `.staging/<stage>/`) and
  renames them into place only when it has finished them all, so a kill, a full disk or an
  error leaves the previous outputs or none, never half of a file or of `profiles/`;
* it then writes `stamps/<stage>.json`: a fingerprint of what the stage was computed from (its
  own options, its inputs' contents for ingest, and the fingerprints of the stages it read), and
  the size of each output. The stamp is removed before the first output is replaced, so a stage
  without a stamp did not finish.

A stage is *current* when its stamp exists, its outputs still have the recorded sizes, and the
fingerprints it recorded are those of the current stamps of the stages it read (re-running
ingest on another log makes every later stage stale). A stage refuses to read a stage that is
not current, naming the stage to run again; the report leaves out sections that are not current.
Provenance (times, versions, paths) stays in `manifest.json`; stamps hold nothing that changes
from one identical run to the next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import hashlib
import inspect
import json
import math
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline import artefacts
from pipeline.errors import InputError, PipelineError, ResourceError, StageOrderError
from pipeline.runlock import locked, not_writable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

STAMPS_DIR = "stamps"
STAGING_DIR = ".staging"
STAMP_FORMAT = "servechar.stamp/1"
UPSTREAM: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "aggregate": ("ingest",),
    "fit": ("aggregate",),
    "export": ("fit", "aggregate"),
    "characterize": ("aggregate", "fit", "ingest"),
    "anomalies": ("aggregate",),
    "report": ("characterize", "ingest"),
    "validate": ("export", "aggregate", "ingest"),
    "whatif": ("export", "aggregate"),
}
"""The stages each stage reads (its fingerprint includes theirs), in the order it reads them:
the first one that is not current is the one an error asks to run."""
RUN_ARTEFACTS = frozenset(
    {
        artefacts.MANIFEST,
        artefacts.SUMMARY,
        artefacts.REJECTS,
        artefacts.FITS,
        artefacts.STATS,
        artefacts.REPORT,
        artefacts.VALIDATION,
        artefacts.WHATIF,
        artefacts.ANOMALIES,
        *UPSTREAM,
        artefacts.PROFILES,
        STAMPS_DIR,
        STAGING_DIR,
        ".lock",
        ".tmp",
    }
)
"""Top-level names a run directory writes: never read as logs, never overwritten by `generate`."""
KILL_AT_ENV = "SERVECHAR_TEST_KILL_AT"
"""Fault injection for the tests: `<stage>:publish` (every output written beside, none moved)
or `<stage>:published-one` (one output moved into place) kills the process there."""
_DISK_FULL = ("No space left on device", "File too large", "Disk quota exceeded")
_READ_ONLY = ("Read-only file system", "Permission denied")


def write_atomic(path: Path, write: Callable[[str], None]) -> Path:
    """Have `write` fill a temporary file beside `path`, then rename it into place: readers
    never see a half-written file, and a failed write leaves no temporary file behind."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(temporary)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    move_into_place(temporary, path)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` so that readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, "utf-8", newline="\n"))


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
    return _JsonReady(f".{significant_digits}g")(value)


class _JsonReady:
    """json_ready for one precision. Python's own floats, ints, strings and containers (most
    of a stats document: hundreds of thousands of curve points) are recognised by their exact
    type first, which gives the same values as the general checks below at a fraction of the
    cost."""

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind is float:
            return float(format(value, self.spec)) if math.isfinite(value) else None
        if kind is list or kind is tuple:
            # curves are long lists of plain floats: those inline, the rest through self
            spec, isfinite = self.spec, math.isfinite
            return [
                (float(format(v, spec)) if isfinite(v) else None) if type(v) is float else self(v)
                for v in value
            ]
        if kind is dict:
            return {str(k): self(v) for k, v in value.items()}
        if kind is int or kind is str or kind is bool or value is None:
            return value
        return self._general(value)

    def _general(self, value: Any) -> Any:
        import numpy as np  # lazily: the CLI's help path does not need it

        if isinstance(value, dict):
            return {str(k): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            number = float(value)
            if not math.isfinite(number):
                return None
            return float(format(number, self.spec))
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
    """SHA-256 of a file's bytes; remembered while the file is unchanged (the manifest and the
    ingest fingerprint both need it, and logs can be large)."""
    status = path.stat()
    return _sha256_cached(str(path.resolve()), status.st_size, status.st_mtime_ns, status.st_ino)


@functools.lru_cache(maxsize=4096)
def _sha256_cached(path: str, size: int, mtime_ns: int, inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RunDir:
    """Paths of one run's artefacts (the `--out` directory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._writers: list[_StageWriter] = []

    def path(self, relative: str) -> Path:
        return self.root / relative

    def output(self, relative: str) -> Path:
        """Where the running stage writes the artefact `relative`: beside the run's files,
        renamed into place when the stage has finished every output."""
        if not self._writers:
            return self.path(relative)
        return self._writers[-1].output(relative)

    def publish(self) -> None:
        """Move the running stage's finished outputs into place now, before a last check that
        may still fail (ingest keeps rejects.csv for the user to read, but no stamp)."""
        self._writers[-1].publish()

    @property
    def temp_dir(self) -> Path:
        return self.root / ".tmp"

    @property
    def manifest_path(self) -> Path:
        return self.root / artefacts.MANIFEST

    def require(self, relative: str, stage: str) -> Path:
        """An artefact another stage wrote; a clear error when that stage has not run."""
        path = self.path(relative)
        if not path.exists():
            raise StageOrderError(f"{path} does not exist", hint=rerun_hint(stage, self.root))
        return path

    def read_json(self, relative: str, stage: str, keys: Iterable[str] = ()) -> Any:
        """A JSON artefact of `stage`; damaged text or missing `keys` are a clear error."""
        path = self.require(relative, stage)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(
                f"{path} is damaged: not valid JSON ({exc})", hint=rerun_hint(stage, self.root)
            ) from None
        missing = [key for key in keys if not isinstance(data, dict) or key not in data]
        if missing:
            raise InputError(
                f"{path} is damaged: it lacks {', '.join(missing)}",
                hint=rerun_hint(stage, self.root),
            )
        return data

    def stamp_path(self, stage: str) -> Path:
        return self.root / STAMPS_DIR / f"{stage}.json"

    def fingerprint(self, stage: str) -> str:
        """The fingerprint of `stage`'s outputs, after checking that they are current."""
        return _verify(self, stage, {})

    def is_current(self, stage: str) -> bool:
        try:
            self.fingerprint(stage)
        except StageOrderError:
            return False
        return True

    def record_stage(self, stage: str, material: dict[str, Any], outputs: Iterable[str]) -> str:
        """Stamp outputs that were written without running `stage` (validate's training
        split of an ingest), so that the stages after it accept them."""
        return _write_stamp(self, stage, {}, material, list(outputs))

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


def rerun_hint(stage: str, root: Path) -> str:
    if stage == "ingest":
        return f"Run `servechar ingest LOG... --out {root}` first (or `servechar run LOG...`)."
    if stage in ("validate", "whatif"):
        return f"Run `servechar {stage} {root}` again."
    return f"Run `servechar {stage} --out {root}` first (or `servechar run`)."


T = TypeVar("T")


def stage(
    name: str,
    *,
    material: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    creates_root: bool = False,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run a stage function (first argument `run_dir`) as described in the module docstring.

    `material` gives what, besides the upstream fingerprints, the outputs depend on, from the
    function's arguments by name; by default its `options` (never the engine settings, which
    change no output).
    """

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> T:
            arguments = signature.bind(*args, **kwargs).arguments
            run_dir: RunDir = arguments["run_dir"]
            with disk_errors(run_dir.root), locked(run_dir.root, create=creates_root):
                memo: dict[str, str] = {}
                upstream = {up: _verify(run_dir, up, memo) for up in UPSTREAM[name]}
                writer = _StageWriter(run_dir, name)
                run_dir._writers.append(writer)
                try:
                    result = func(*args, **kwargs)
                    made_of = (
                        material(arguments)
                        if material
                        else {"options": canonical(arguments.get("options"))}
                    )
                    writer.publish()
                    _write_stamp(run_dir, name, upstream, made_of, list(writer.outputs))
                finally:
                    run_dir._writers.remove(writer)
                    writer.discard()
            return result

        return run

    return decorate


def canonical(value: Any) -> Any:
    """Options as plain JSON-able data (pydantic models and dataclasses alike)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


class _StageWriter:
    """The outputs of one running stage, written under `.staging/<stage>/new/`."""

    def __init__(self, run_dir: RunDir, name: str) -> None:
        self.run_dir = run_dir
        self.name = name
        self.area = run_dir.root / STAGING_DIR / name
        shutil.rmtree(self.area, ignore_errors=True)  # a killed run's leftovers (we hold the lock)
        self.outputs: dict[str, None] = {}  # relative paths, in the order first asked for
        self.published: set[str] = set()

    def output(self, relative: str) -> Path:
        self.outputs.setdefault(relative)
        path = self.area / "new" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self) -> None:
        # From here on the stage's outputs are in flux: no stamp until they all are in place.
        self.run_dir.stamp_path(self.name).unlink(missing_ok=True)
        _fault_point(self.name, "publish")
        aside = self.area / "old"
        for relative in self.outputs:
            if relative in self.published:
                continue
            new, final = self.area / "new" / relative, self.run_dir.path(relative)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_dir() or (new.is_dir() and final.exists()):  # rename cannot replace these
                (aside / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(final, aside / relative)
            if new.exists():
                os.replace(new, final)
            elif final.exists():  # declared but not written this time: nothing, not a stale one
                final.unlink()
            self.published.add(relative)
            _fault_point(self.name, "published-one")
        shutil.rmtree(aside, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.area, ignore_errors=True)
        # Fails while another stage's staging area is still there (validate's training run).
        with contextlib.suppress(OSError):
            self.area.parent.rmdir()


def _fault_point(stage_name: str, point: str) -> None:
    if os.environ.get(KILL_AT_ENV) == f"{stage_name}:{point}":
        os.kill(os.getpid(), signal.SIGKILL)


def _describe(path: Path) -> dict[str, int] | None:
    """What the stamp records of an output: its size, or a directory's file count and bytes."""
    if path.is_file():
        return {"bytes": path.stat().st_size}
    if path.is_dir():
        sizes = [p.stat().st_size for p in path.rglob("*") if p.is_file()]
        return {"files": len(sizes), "bytes": sum(sizes)}
    return None


def _fingerprint(name: str, upstream: dict[str, str], material: dict[str, Any]) -> str:
    text = json.dumps(
        {"format": STAMP_FORMAT, "stage": name, "upstream": upstream, "material": material},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_stamp(
    run_dir: RunDir,
    name: str,
    upstream: dict[str, str],
    material: dict[str, Any],
    outputs: list[str],
) -> str:
    fingerprint = _fingerprint(name, upstream, material)
    described = {rel: _describe(run_dir.path(rel)) for rel in outputs}
    stamp = {
        "format": STAMP_FORMAT,
        "stage": name,
        "fingerprint": fingerprint,
        "upstream": upstream,
        "outputs": {rel: found for rel, found in sorted(described.items()) if found is not None},
    }
    write_json(run_dir.stamp_path(name), stamp)
    if run_dir.manifest_path.exists():  # provenance: which fingerprint each stage recorded
        manifest = json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
        manifest.setdefault("stages", {}).setdefault(name, {})["fingerprint"] = fingerprint
        write_json(run_dir.manifest_path, manifest)
    return fingerprint


def _verify(run_dir: RunDir, name: str, memo: dict[str, str]) -> str:
    """`name`'s fingerprint if it is current (see the module docstring); else a StageOrderError
    that names the stage to run again."""
    if name in memo:
        return memo[name]
    root, hint = run_dir.root, rerun_hint(name, run_dir.root)
    try:
        stamp = json.loads(run_dir.stamp_path(name).read_text(encoding="utf-8"))
        recorded_outputs = dict(stamp["outputs"])
        recorded_upstream = dict(stamp["upstream"])
        fingerprint = str(stamp["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        raise StageOrderError(
            f"`{name}` has not completed in {root} (it did not run, or its last run failed or "
            "was stopped)",
            hint=hint,
        ) from None
    for relative, expected in recorded_outputs.items():
        found = _describe(run_dir.path(relative))
        if found != expected:
            state = "is missing" if found is None else "has changed"
            raise StageOrderError(
                f"{run_dir.path(relative)} {state} since `{name}` wrote it (expected {expected}, "
                f"found {found})",
                hint=hint,
            )
    for upstream_name, upstream_fingerprint in sorted(recorded_upstream.items()):
        if _verify(run_dir, upstream_name, memo) != upstream_fingerprint:
            raise StageOrderError(
                f"the `{name}` outputs in {root} were computed from an earlier `{upstream_name}` "
                f"run (`{upstream_name}` ran again since, with other inputs or options)",
                hint=hint.replace(" first ", " again ") + " Then the stages after it.",
            )
    memo[name] = fingerprint
    return fingerprint


@contextmanager
def disk_errors(root: Path, option: str = "--out") -> Iterator[None]:
    """A full disk or a read-only directory, whichever library hit it, as a clear error; the
    hint names `option`, the command's option that chose where to write. The library's own
    error stays attached as the cause, for `--debug`."""
    try:
        yield
    except PipelineError as exc:
        if _matches(exc.message, _DISK_FULL):  # an input error raised around a write
            raise _disk_full(root, option) from exc
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or _matches(str(exc), _DISK_FULL):
            raise _disk_full(root, option) from exc
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise not_writable(root, exc, option) from exc
        raise
    except Exception as exc:  # DuckDB, Arrow and Polars report I/O failures as their own types
        if _matches(str(exc), _DISK_FULL):
            raise _disk_full(root, option) from exc
        engine_error = type(exc).__module__.startswith(("duckdb", "pyarrow", "polars"))
        if engine_error and _matches(str(exc), _READ_ONLY):
            refused = OSError(errno.EACCES, str(exc).splitlines()[0])
            raise not_writable(root, refused, option) from exc
        raise


def _matches(text: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in text for phrase in phrases)


def _disk_full(root: Path, option: str = "--out") -> ResourceError:
    return ResourceError(
        f"no space left on the device while writing {root}; the outputs already there are "
        "unchanged, and the partial ones were removed",
        hint="Free some space (DuckDB also spills to the run directory's .tmp), or give "
        f"{option} a place on another disk.",
    )


def is_run_directory(path: Path) -> bool:
    """Whether `path` is a servechar run directory (it has a manifest or stamps)."""
    return (path / artefacts.MANIFEST).is_file() or (path / STAMPS_DIR).is_dir()


def run_artefact_of(path: Path, run_dir: Path | None = None) -> tuple[Path, Path] | None:
    """(run directory, relative path) when `path` is, or lies inside, an artefact of a run
    directory (`run_dir`, or any run directory above `path`); None otherwise."""
    target = Path(os.path.abspath(path))
    known = Path(os.path.abspath(run_dir)) if run_dir is not None else None
    for parent in target.parents:
        if parent == known or is_run_directory(parent):
            relative = target.relative_to(parent)
            if relative.parts and relative.parts[0] in RUN_ARTEFACTS:
                return parent, relative
    return None
