"""Idempotency records in DynamoDB (one item per caller and key) and large answers in S3.

A key is taken by a conditional put that succeeds only when no live record holds it, so of two
requests racing with one key exactly one runs; the other reads the record and learns whether
the first is still running or what it answered. Completing and releasing are conditional on
the claim's token, so a claim taken over after its lease ran out cannot be overwritten by the
late first request.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from exif_service.domain.idempotency import (
    IdempotencyRecord,
    KeptObject,
    RecordState,
    StoredResponse,
)
from exif_service.store.blobs import Blobs
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.models import IdempotencyItem

# Answers up to this size are kept in the item (400 KB at most, base64 adds a third).
INLINE_BODY_BYTES = 192 * 1024
# Under results/, whose one-day lifecycle rule outlives the 24 h the record is kept.
BODY_PREFIX = "results/idempotency/"
_DONE = RecordState.DONE.value
_PENDING = RecordState.PENDING.value


@translate_faults
def claim(
    record_id: str, fingerprint: str, token: str, now: float, lease_s: float, keep_s: float
) -> bool:
    """Take the key for a new request; False while a live record holds it."""
    item = IdempotencyItem(
        record_id=record_id,
        fingerprint=fingerprint,
        state=_PENDING,
        token=token,
        lease_until=now + lease_s,
        expires_at=now + keep_s,
        ttl=datetime.fromtimestamp(now + keep_s, UTC),
    )
    free = (
        IdempotencyItem.record_id.does_not_exist()
        | (IdempotencyItem.expires_at < now)
        | ((IdempotencyItem.state == _PENDING) & (IdempotencyItem.lease_until < now))
    )
    return conditional_write(lambda: item.save(condition=free))


@translate_faults
def get(record_id: str) -> IdempotencyRecord | None:
    """The record under `record_id` as it is now (a strongly consistent read)."""
    try:
        item = IdempotencyItem.get(record_id, consistent_read=True)
    except DoesNotExist:
        return None
    response = None
    if item.state == _DONE and item.status is not None:
        response = StoredResponse(
            status=int(item.status),
            headers=tuple((str(n), str(v)) for n, v in item.headers or []),
            body=base64.b64decode(item.body_b64) if item.body_b64 is not None else None,
            body_key=item.body_key,
            redirect=KeptObject(**item.redirect) if item.redirect else None,
        )
    return IdempotencyRecord(
        fingerprint=item.fingerprint,
        state=RecordState(item.state),
        lease_until=float(item.lease_until),
        expires_at=float(item.expires_at),
        response=response,
    )


@translate_faults
def complete(record_id: str, token: str, response: StoredResponse) -> bool:
    """Keep the answer of the claim `token`; False if that claim no longer holds the key."""
    item = IdempotencyItem(record_id=record_id)
    body = base64.b64encode(response.body).decode("ascii") if response.body is not None else None
    actions: list[Action] = [
        IdempotencyItem.state.set(_DONE),
        IdempotencyItem.status.set(response.status),
        IdempotencyItem.headers.set([list(pair) for pair in response.headers]),
    ]
    if body is not None:
        actions.append(IdempotencyItem.body_b64.set(body))
    if response.body_key is not None:
        actions.append(IdempotencyItem.body_key.set(response.body_key))
    if response.redirect is not None:
        kept = response.redirect
        actions.append(
            IdempotencyItem.redirect.set(
                {
                    "key": kept.key,
                    "disposition": kept.disposition,
                    "content_type": kept.content_type,
                }
            )
        )
    held = (IdempotencyItem.token == token) & (IdempotencyItem.state == _PENDING)
    return conditional_write(lambda: item.update(actions=actions, condition=held))


@translate_faults
def release(record_id: str, token: str) -> None:
    """Free the key held by the claim `token` (its answer is not one to keep)."""
    item = IdempotencyItem(record_id=record_id)
    conditional_write(lambda: item.delete(condition=IdempotencyItem.token == token))


def put_body(key: str, path: Path, content_type: str) -> None:
    Blobs().put_file(key, path, content_type)


def body_chunks(key: str) -> Iterator[bytes]:
    """The stored body, in chunks (NotFound if it is gone)."""
    return Blobs().stream(key)


def kept_object(url: str) -> KeptObject | None:
    """The bucket object a presigned download link of ours points to, if it is one."""
    blobs = Blobs()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if "X-Amz-Signature" not in query and "Signature" not in query:
        return None
    path = unquote(parts.path)
    if path.startswith(f"/{blobs.bucket}/"):  # path-style (an endpoint URL, the emulator)
        key = path[len(blobs.bucket) + 2 :]
    elif (parts.hostname or "").startswith(f"{blobs.bucket}."):  # virtual-hosted style
        key = path[1:]
    else:
        return None
    return KeptObject(
        key=key,
        disposition=query.get("response-content-disposition", ["attachment"])[0],
        content_type=query.get("response-content-type", ["application/octet-stream"])[0],
    )


def fresh_link(kept: KeptObject, ttl_s: int) -> str:
    """A new presigned download link to a kept object."""
    return Blobs().presigned_get(kept.key, kept.disposition, kept.content_type, ttl_s)
