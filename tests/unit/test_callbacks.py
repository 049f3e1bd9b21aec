"""The callback signature: what a receiver checks (sender, body, freshness)."""

from __future__ import annotations

from exif_service.services.callbacks import deliver, sign, verify
from exif_service.settings import Settings

BODY = b'{"uuid": "1", "status": "completed"}'


def test_a_signature_verifies_for_the_same_body_secret_and_a_fresh_time() -> None:
    header = sign(BODY, "secret", 1_800_000_000)
    assert header.startswith("t=1800000000,v1=")
    assert verify(BODY, header, "secret", now=1_800_000_100)


def test_a_changed_body_wrong_secret_or_stale_signature_is_rejected() -> None:
    header = sign(BODY, "secret", 1_800_000_000)
    assert not verify(BODY + b" ", header, "secret", now=1_800_000_000)
    assert not verify(BODY, header, "other", now=1_800_000_000)
    assert not verify(BODY, header, "secret", now=1_800_000_000 + 301)


def test_a_malformed_signature_header_is_rejected() -> None:
    assert not verify(BODY, "v1=abc", "secret", now=0)
    assert not verify(BODY, "t=soon,v1=abc", "secret", now=0)
    assert not verify(BODY, "", "secret", now=0)


def test_without_a_configured_secret_no_callback_is_sent() -> None:
    attempts: list[float] = []
    settings = Settings(callback_secret=None)
    assert deliver("https://example.com/hook", {"a": 1}, settings, sleep=attempts.append) is False
    assert attempts == []
