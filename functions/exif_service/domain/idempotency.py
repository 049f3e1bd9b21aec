"""Idempotency keys: which keys are acceptable, and what a stored first answer holds.

A request sent with an `Idempotency-Key` is answered once; a retry with the same key and the
same request within the keeping window gets that first answer again instead of being run (and
charged) twice. Answers that say "try again" (5xx, 429) are not kept, so their retry runs anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_KEY_LENGTH = 255
KEEP_SECONDS = 24 * 60 * 60


def valid_key(key: str) -> bool:
    """1 to 255 printable ASCII characters (space to tilde)."""
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(" " <= c <= "~" for c in key)


def is_kept(status: int) -> bool:
    """Whether an answer with this status is the one every retry gets."""
    return status < 500 and status != 429


class RecordState(Enum):
    PENDING = "pending"  # the first request is still running
    DONE = "done"


@dataclass(frozen=True)
class KeptObject:
    """A file in the bucket that an answer redirected to with a short-lived download link."""

    key: str
    disposition: str
    content_type: str


@dataclass(frozen=True)
class StoredResponse:
    """The first answer: status, headers and a body held inline or as an object in S3.

    A redirect to a kept file also names that file, so a replay signs a fresh link to it
    rather than handing out one that expired minutes after the first answer.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None
    body_key: str | None = None
    redirect: KeptObject | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """One caller's key: the request it was first used with, and its answer once there is one."""

    fingerprint: str
    state: RecordState
    lease_until: float  # epoch seconds: a pending claim older than this may be taken over
    expires_at: float  # epoch seconds: after this the key is unused again
    response: StoredResponse | None = None
