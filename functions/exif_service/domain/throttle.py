"""How long a subject waits after repeated failures: plain arithmetic over counts and times."""

from __future__ import annotations

import math


def lockout_seconds(failures: int, free: int, base_s: int, cap_s: int) -> int:
    """0 below `free` failures; then `base_s`, doubled for each further failure, at most `cap_s`.

    With free=5, base 30 s: the 5th failure locks for 30 s, the 6th for 60 s, the 7th for 120 s.
    """
    if failures < free:
        return 0
    doublings = min(failures - free, 30)  # 2**30 s is far past any sensible cap
    return int(min(cap_s, base_s * 2**doublings))


def retry_after(until: float, now: float) -> int:
    """Whole seconds to wait from `now` until `until` (at least 1: `Retry-After: 0` invites a
    client to hammer)."""
    return max(1, math.ceil(until - now))
