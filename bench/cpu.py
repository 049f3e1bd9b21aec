"""CPU time of a process tree by role (server, emulator, ExifTool, ...), from /proc.

The HTTP rows say how long a request takes; these figures say where the machine's cores went
while it ran, per request: on two shared cores, what one request costs every process it touches
bounds how many files a second fit, whatever the concurrency.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bench.memory import descendants, label

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of one process so far; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # the command name may hold spaces and parentheses: the fields start after the last ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15)


def tree_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Every process of the tree under `pid` (the server itself, whatever its command): its role
    and CPU seconds so far."""
    return {p: ("server" if p == pid else label(p), cpu_seconds(p)) for p in descendants(pid)}


def spent(
    before: Mapping[int, tuple[str, float]], after: Mapping[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each role spent between two snapshots (processes started between them
    count from zero)."""
    roles: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        earlier = before.get(pid, (role, 0.0))[1]
        roles[role] = roles.get(role, 0.0) + max(seconds - earlier, 0.0)
    return roles
