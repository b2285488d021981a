"""One writer per run directory: an advisory `flock` on `OUT/.lock`.

The lock belongs to an open file, so the kernel releases it when the process ends, however it
ends (a killed run never leaves a lock that blocks the next one). Within one process the lock is
re-entrant: `servechar run` holds it from ingest to report, and each stage takes it again.
Commands that only read a run directory (`generate`) take it shared: they wait for no one, but
refuse to read while a writer is replacing the artefacts.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import RunDirError

if TYPE_CHECKING:
    from collections.abc import Iterator

LOCK_FILE = ".lock"
LEFTOVERS = (".staging", ".tmp")  # stages' unpublished outputs, DuckDB's spill files
_HELD: dict[Path, list[int]] = {}  # resolved root -> [file descriptor, depth]


@contextmanager
def locked(root: Path, *, create: bool = False, shared: bool = False) -> Iterator[None]:
    """Hold the run directory `root` for writing (or, `shared`, for reading).

    `create` makes the directory first (the stages that start a run); without it a missing
    directory is left alone, and the stage's own check names what to run first.
    """
    root = Path(root)
    if not prepare_root(root, create=create):
        yield
        return
    key = root.resolve()
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    fd = _open_lock(root, shared)
    if fd is None:  # a read-only directory: nobody can be writing it
        yield
        return
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise RunDirError(
            f"{root} is being written by another servechar command"
            + (f" (process {holder})" if holder.isdigit() else ""),
            hint="Wait for it to finish, or use another --out. The lock ends with that process, "
            "even when it is killed.",
        ) from None
    if not shared:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        # Nobody else writes here now: what is left in these was left by a killed run.
        for leftover in LEFTOVERS:
            shutil.rmtree(root / leftover, ignore_errors=True)
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        os.close(fd)  # releases the lock


def prepare_root(root: Path, *, create: bool) -> bool:
    """Whether `root` is a usable run directory (made if `create`); a file is an error."""
    if root.exists() and not root.is_dir():
        raise RunDirError(
            f"{root} is a file, not a run directory",
            hint="Give --out a directory: a new name, or the run directory of earlier stages.",
        )
    if root.is_dir():
        return True
    if not create:
        return False
    try:
        root.mkdir(parents=True)
    except FileExistsError:  # made meanwhile, or a parent is a file
        if not root.is_dir():
            raise RunDirError(
                f"cannot create {root}: a part of that path is a file",
                hint="Give --out a directory path.",
            ) from None
    except (NotADirectoryError, PermissionError, OSError) as exc:
        raise not_writable(root, exc) from None
    return True


def _open_lock(root: Path, shared: bool) -> int | None:
    path = root / LOCK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if shared:
            try:
                return os.open(path, os.O_RDONLY)
            except OSError:
                return None
        raise not_writable(root, exc) from None


def not_writable(root: Path, exc: OSError, option: str = "--out") -> RunDirError:
    """The error for a run directory that cannot be written (read-only, permissions, a file)."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOTDIR:
        reason = "a part of that path is a file"
    return RunDirError(
        f"cannot write to {root}: {reason}",
        hint=f"Choose a writable place for {option} (check its permissions, and that the file "
        "system is not mounted read-only).",
    )
