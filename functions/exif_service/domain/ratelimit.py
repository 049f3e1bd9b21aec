"""The daily allowance as a caller sees it in rate-limit headers: limit, what is left, reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Allowance:
    """A subject's daily limit and its count as the request's last charge left it."""

    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def seconds_until_reset(now: datetime | None = None) -> float:
    """Seconds from `now` to the next 00:00 UTC, when every daily count starts again."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()
