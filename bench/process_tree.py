"""Peak memory of a child process and everything it starts (Linux /proc).

A Spark run is several processes (the CLI, Spark's JVM, its Python workers): the peak of
their summed resident sets is its memory, which ru_maxrss (one process's) does not give.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def tree_rss_bytes(root: int) -> int:
    """Summed resident memory of `root` and every process below it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * PAGE_BYTES
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total


def wait_sampling(child: subprocess.Popen[bytes], interval: float) -> tuple[bytes | None, int]:
    """Wait for `child` (reading its stderr if piped) while sampling its tree every `interval`
    seconds: its stderr and the tree's peak resident bytes."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(child.pid))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _out, err = child.communicate()
    finally:
        done.set()
        sampler.join()
    return err, peak
