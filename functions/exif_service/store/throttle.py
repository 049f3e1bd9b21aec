"""Attempt counters and lockouts in DynamoDB, shared by every process (and Lambda instance).

One item per subject (`signin-account:<hash of the email>`, `signup-address:<ip>`, ...):
`attempts` counted since `window_start`, and `locked_until`. Every change is a single
conditional UpdateItem, so concurrent requests count exactly: a new window is opened only by
the request that finds the old one over, and a lockout is only ever extended. Times are epoch
seconds from the caller's clock; items expire through the table's TTL once nothing in them
can matter any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.models import ThrottleState

# a window can be reopened under us by another request at most once per window; a few tries
# are enough to land in the current one
_TRIES = 4


@dataclass(frozen=True)
class Count:
    """A subject's attempts in the current window, the window's start and any lockout."""

    attempts: int
    window_start: float
    locked_until: float


def _count(item: ThrottleState) -> Count:
    return Count(
        attempts=int(item.attempts or 0),
        window_start=float(item.window_start or 0),
        locked_until=float(item.locked_until or 0),
    )


@translate_faults
def current(subject: str) -> Count | None:
    """The subject's state as last written (a strongly consistent read), None if it has none."""
    try:
        return _count(ThrottleState.get(subject, consistent_read=True))
    except DoesNotExist:
        return None


@translate_faults
def add_attempt(subject: str, now: float, window_s: int, keep_s: int) -> Count:
    """Count one attempt in the current window (opening a new one if it is over)."""
    expires = _moment(now + keep_s)
    in_window = ThrottleState.window_start > now - window_s
    # no item yet, or its window is over: start a new one (unless another request just did)
    stale = ThrottleState.subject.does_not_exist() | (ThrottleState.window_start <= now - window_s)
    for _ in range(_TRIES):
        counted = _update(
            subject, [ThrottleState.attempts.add(1), ThrottleState.ttl.set(expires)], in_window
        )
        if counted is None:
            counted = _open_window(subject, now, expires, stale)
        if counted is not None:
            return _count(counted)
    raise RuntimeError(f"could not count an attempt for {subject!r}")  # pragma: no cover


@translate_faults
def take_free_attempt(
    subject: str, now: float, free: int, window_s: int, keep_s: int
) -> int | None:
    """Count an attempt if the subject has had fewer than `free` in the current window (or the
    window is over and no lockout holds); its number, or None when none is free."""
    expires = _moment(now + keep_s)
    below = (ThrottleState.window_start > now - window_s) & (ThrottleState.attempts < free)
    counted = _update(
        subject, [ThrottleState.attempts.add(1), ThrottleState.ttl.set(expires)], below
    )
    if counted is None:
        unlocked = ThrottleState.locked_until.does_not_exist() | (ThrottleState.locked_until <= now)
        stale = ThrottleState.subject.does_not_exist() | (
            (ThrottleState.window_start <= now - window_s) & unlocked
        )
        counted = _open_window(subject, now, expires, stale)
    return int(counted.attempts) if counted is not None else None


@translate_faults
def take_attempt_past_lockout(
    subject: str, now: float, seen: int, lock_until: float, keep_s: int
) -> bool:
    """Count attempt `seen + 1` of a subject whose lockout is over, locking it again until
    `lock_until` at once, so that concurrent attempts wait; False if another request changed
    the count first or a lockout holds."""
    unlocked = ThrottleState.locked_until.does_not_exist() | (ThrottleState.locked_until <= now)
    condition = (ThrottleState.attempts == seen) & unlocked
    actions = [
        ThrottleState.attempts.set(seen + 1),
        ThrottleState.locked_until.set(lock_until),
        ThrottleState.ttl.set(_moment(max(lock_until, now) + keep_s)),
    ]
    return _update(subject, actions, condition) is not None


@translate_faults
def give_back(subject: str, held_until: float = 0) -> None:
    """Uncount one attempt (it turned out to be no failure), and lift the lockout it set while
    it was being checked (`held_until`), unless a later failure has replaced it."""
    _update(subject, [ThrottleState.attempts.add(-1)], ThrottleState.attempts > 0)
    if held_until:
        _update(
            subject,
            [ThrottleState.locked_until.set(0)],
            ThrottleState.locked_until == held_until,
        )


@translate_faults
def lock_until(subject: str, until: float, keep_s: int) -> None:
    """Lock the subject out until `until`, unless it already is for longer."""
    later = ThrottleState.locked_until.does_not_exist() | (ThrottleState.locked_until < until)
    actions = [
        ThrottleState.locked_until.set(until),
        ThrottleState.ttl.set(_moment(until + keep_s)),
    ]
    _update(subject, actions, later)


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _open_window(
    subject: str, now: float, expires: datetime, condition: Condition
) -> ThrottleState | None:
    """Start a new window holding this one attempt, where `condition` says the old one is over."""
    actions = [
        ThrottleState.attempts.set(1),
        ThrottleState.window_start.set(now),
        ThrottleState.ttl.set(expires),
    ]
    return _update(subject, actions, condition)


def _update(subject: str, actions: Sequence[Action], condition: Condition) -> ThrottleState | None:
    """The item as written, or None when `condition` did not hold."""
    item = ThrottleState(subject=subject)
    if conditional_write(lambda: item.update(actions=list(actions), condition=condition)):
        return item
    return None


@translate_faults
def forget(subject: str) -> None:
    """Drop the subject's count and lockout (e.g. after a successful sign-in)."""
    try:
        ThrottleState(subject=subject).delete()
    except DeleteError as exc:
        if exc.cause_response_code != "ResourceNotFoundException":
            raise
