"""Browser sessions in DynamoDB, stored under the SHA-256 of the cookie token.

The raw token exists only in the cookie: a read of the table cannot be replayed as a session.
Expired items are ignored on read and removed by DynamoDB's TTL.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from exif_service.domain.accounts import hash_key
from exif_service.store.faults import translate_faults
from exif_service.store.models import Session

# DynamoDB deletes expired items within a day or two; the read check is what enforces expiry
_TTL_SLACK = timedelta(days=1)
MAX_TOKEN_LENGTH = 256


@translate_faults
def create_session(
    user_id: str, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new session for `user_id` starting `now`: the raw cookie token and when it expires."""
    token = secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    expires = now + lifetime
    Session(
        token_hash=hash_key(token),
        user_id=user_id,
        created_at=now,
        expires_at=expires,
        ttl=expires + _TTL_SLACK,
    ).save()
    return token, expires


@translate_faults
def session_user(token: str, now: datetime | None = None) -> tuple[str, datetime, datetime] | None:
    """The user id, start and expiry of a live session, or None for an unknown or expired
    token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        item = Session.get(hash_key(token))
    except DoesNotExist:
        return None
    if item.expires_at <= (now or datetime.now(UTC)):
        return None
    return item.user_id, item.created_at, item.expires_at


@translate_faults
def delete_session(token: str) -> None:
    """End a session; unknown tokens are ignored."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        Session(token_hash=hash_key(token)).delete()
