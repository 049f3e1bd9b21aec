"""The lockout arithmetic: free failures, doubling, the cap, and a Retry-After never below 1."""

from __future__ import annotations

import pytest

from exif_service.domain.throttle import lockout_seconds, retry_after


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (4, 0), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900), (50, 900), (10**9, 900)],
)
def test_lockout_starts_at_the_fifth_failure_doubles_and_stops_at_the_cap(
    failures: int, seconds: int
) -> None:
    assert lockout_seconds(failures, free=5, base_s=30, cap_s=900) == seconds


@pytest.mark.parametrize(
    ("until", "now", "wait"),
    [(100.0, 40.0, 60), (100.0, 99.2, 1), (100.0, 100.0, 1), (100.0, 170.0, 1)],
)
def test_retry_after_is_whole_seconds_and_at_least_one(until: float, now: float, wait: int) -> None:
    assert retry_after(until, now) == wait
