"""The plain rules behind the rate-limit headers and idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exif_service.api.ratelimit import rate_limit_headers
from exif_service.domain.idempotency import is_kept, valid_key
from exif_service.domain.ratelimit import Allowance, seconds_until_reset


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC), 86400.0),
        (datetime(2026, 3, 1, 23, 59, 59, 500000, tzinfo=UTC), 0.5),
        (datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), 43200.0),
        # a caller's local time counts by its UTC instant
        (datetime.fromisoformat("2026-03-01T20:00:00-05:00"), 82800.0),
    ],
)
def test_reset_counts_the_seconds_to_the_next_utc_midnight(now: datetime, expected: float) -> None:
    assert seconds_until_reset(now) == expected


def test_headers_in_seconds_and_retry_after_only_on_429() -> None:
    noon = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    ok = dict(rate_limit_headers(Allowance(limit=5, used=2), 200, now=noon))
    assert ok == {
        b"x-ratelimit-limit": b"5",
        b"x-ratelimit-remaining": b"3",
        b"x-ratelimit-reset": b"43200",
    }
    late = datetime(2026, 3, 1, 23, 59, 59, 900000, tzinfo=UTC)
    refused = dict(rate_limit_headers(Allowance(limit=5, used=5), 429, now=late))
    assert refused[b"x-ratelimit-remaining"] == b"0"
    assert refused[b"x-ratelimit-reset"] == b"1"  # rounded up: never "now" while still refused
    assert refused[b"retry-after"] == b"1"


def test_imagekit_headers_keep_milliseconds_and_the_interval() -> None:
    noon = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    headers = dict(rate_limit_headers(Allowance(limit=300, used=1), 429, in_ms=True, now=noon))
    assert headers[b"x-ratelimit-reset"] == b"43200000"
    assert headers[b"x-ratelimit-interval"] == b"86400000"
    assert headers[b"retry-after"] == b"43200"


def test_remaining_never_goes_below_zero() -> None:
    assert Allowance(limit=5, used=7).remaining == 0


@pytest.mark.parametrize(
    "key", ["a", "k" * 255, "550e8400-e29b-41d4-a716-446655440000", " ~!{}", "x y"]
)
def test_printable_ascii_keys_up_to_255_are_valid(key: str) -> None:
    assert valid_key(key)


@pytest.mark.parametrize("key", ["", "k" * 256, "café", "tab\t", "nul\x00", "del\x7f", "\n"])
def test_empty_long_non_ascii_and_control_keys_are_not(key: str) -> None:
    assert not valid_key(key)


@pytest.mark.parametrize(
    ("status", "kept"),
    [(200, True), (201, True), (303, True), (400, True), (415, True), (422, True)]
    + [(429, False), (500, False), (503, False)],
)
def test_answers_worth_repeating_are_kept(status: int, kept: bool) -> None:
    assert is_kept(status) is kept
