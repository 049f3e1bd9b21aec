"""Answering a request once per Idempotency-Key: claim the key, keep the answer, replay it.

The edge (`api/idempotency.py`) fingerprints the request, asks `begin` whether to run it, and
hands the answer to `finish`. The key is scoped to the caller, so two callers never share one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from exif_service.domain.errors import ServiceError
from exif_service.domain.idempotency import (
    KEEP_SECONDS,
    RecordState,
    StoredResponse,
    is_kept,
)
from exif_service.settings import get_settings
from exif_service.store import idempotency as records

log = logging.getLogger(__name__)

_CLAIM_ATTEMPTS = 3


class KeyInUse(ServiceError):
    """The first request with this key is still running (409, retry shortly)."""


class KeyReused(ServiceError):
    """The key was first used with a different request (422)."""


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it runs, and its answer is kept for the retries."""

    record_id: str
    token: str


def record_id(caller: str, key: str) -> str:
    return hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()


def begin(caller: str, key: str, fingerprint: str, now: float) -> Claim | StoredResponse:
    """Claim `key` for the caller's request, or the stored first answer to replay.

    Raises KeyReused when the key came with another request, KeyInUse while the first request
    with it is still running.
    """
    settings = get_settings()
    rid = record_id(caller, key)
    for _ in range(_CLAIM_ATTEMPTS):
        token = secrets.token_hex(16)
        if records.claim(rid, fingerprint, token, now, settings.idempotency_lease_s, KEEP_SECONDS):
            return Claim(rid, token)
        record = records.get(rid)
        if record is None or record.expires_at < now:
            continue  # released or expired between the two calls: claim again
        if record.fingerprint != fingerprint:
            raise KeyReused(
                "This Idempotency-Key was already used with a different request; "
                "send a new key for a new request."
            )
        if record.state is RecordState.PENDING or record.response is None:
            raise KeyInUse(
                "A request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its answer."
            )
        return record.response
    raise KeyInUse("This Idempotency-Key is busy; retry in a moment.")


def finish(
    claim: Claim,
    status: int,
    headers: list[tuple[str, str]],
    body: Path,
    size: int,
) -> None:
    """Keep the answer for the key's retries, or free the key if the answer is not kept."""
    if not is_kept(status):
        records.release(claim.record_id, claim.token)
        return
    content_type = next((v for n, v in headers if n == "content-type"), "")
    location = next((v for n, v in headers if n == "location"), None)
    redirect = records.kept_object(location) if location and 300 <= status < 400 else None
    if size <= records.INLINE_BODY_BYTES:
        stored = StoredResponse(status, tuple(headers), body=body.read_bytes(), redirect=redirect)
    else:
        key = f"{records.BODY_PREFIX}{claim.record_id}-{claim.token}"
        records.put_body(key, body, content_type or "application/octet-stream")
        stored = StoredResponse(status, tuple(headers), body_key=key, redirect=redirect)
    if not records.complete(claim.record_id, claim.token, stored):
        log.warning("an idempotency claim was taken over before its answer could be kept")


def abandon(claim: Claim) -> None:
    """Free the key after the request failed without an answer worth keeping."""
    records.release(claim.record_id, claim.token)


def headers_of(response: StoredResponse) -> list[tuple[str, str]]:
    """The stored answer's headers; a redirect to a kept file gets a freshly signed link."""
    if response.redirect is None:
        return list(response.headers)
    link = records.fresh_link(response.redirect, get_settings().presign_ttl_s)
    return [(n, link if n == "location" else v) for n, v in response.headers]


def body_of(response: StoredResponse) -> Iterator[bytes]:
    """The stored answer's body, in chunks."""
    if response.body is not None:
        yield response.body
    elif response.body_key is not None:
        yield from records.body_chunks(response.body_key)
