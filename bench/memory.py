"""Resident memory of a process and its descendants (ExifTool workers, a child emulator), from
/proc: sampled while a load runs, the largest sum kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                found += [int(child) for child in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
    return found


def rss(pid: int, field: str = "VmRSS") -> int:
    """A process's resident set (`VmRSS`) or its peak (`VmHWM`), in bytes; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def label(pid: int) -> str:
    """What a process of the local server is, from its command line."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "local.child" in command:
        return "emulator"
    if "exiftool" in command:
        return "ExifTool"
    if " serve" in command:
        return "server"
    return command.split(" ", 1)[0].rsplit("/", 1)[-1] or str(pid)


def tree_rss(pid: int) -> int:
    return sum(rss(p) for p in descendants(pid))


class PeakTreeRss:
    """`with PeakTreeRss(pid) as peak: ...`, then `peak.bytes`: the largest resident sum of the
    process tree seen while the block ran (sampled every `interval` seconds)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.bytes = 0
        self.processes = 0
        self.parts: dict[str, int] = {}  # label -> resident bytes, at the peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            tree = {p: rss(p) for p in descendants(self.pid)}
            total = sum(tree.values())
            if total > self.bytes:
                self.bytes, self.processes = total, len(tree)
                self.parts = {}
                for pid, resident in tree.items():
                    name = label(pid)
                    self.parts[name] = self.parts.get(name, 0) + resident
            time.sleep(self.interval)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
