"""Throttling of the account endpoints, per account and per client address.

- Sign-in: every attempt takes a numbered turn from the account and from the address before
  its password is checked. The first `signin_account_failures` turns of an account in a window
  (`signin_address_failures` of an address, which many people may share) are free; a failure
  on the last free turn locks the subject out for `signin_lockout_base_s`. After a lockout one
  more turn is given, and it locks the subject again at once for twice as long (up to
  `signin_lockout_max_s`) until its outcome is known: so concurrent guesses cannot all slip
  through while the first ones are being checked. A locked subject gets 429 with Retry-After
  without its password being checked. A success clears the account's count and gives the
  address its turn back (signing in to one's own account must not buy guesses at another).
- Sign-up and feedback: at most `signup_per_address` / `feedback_per_address` attempts per
  address in each window of `attempt_window_s`.

The state lives in DynamoDB (store/throttle.py), one conditional update per turn, so it holds
across processes and Lambda instances and counts exactly under concurrency. Every function
takes the clock (`now`, epoch seconds) so tests move time freely.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from exif_service.domain.accounts import hash_key
from exif_service.domain.errors import TooManyAttempts
from exif_service.domain.throttle import lockout_seconds, retry_after
from exif_service.settings import get_settings
from exif_service.store import throttle as store

log = logging.getLogger(__name__)

SIGN_IN_LOCKED = "Too many failed sign-in attempts. Try again later."
SIGN_UPS = "Too many sign-ups from this address. Try again later."
FEEDBACK = "Too much feedback from this address. Try again later."
# reads and conditional writes racing other attempts for a turn past a lockout
_TRIES = 4


@dataclass(frozen=True)
class _Limit:
    subject: str
    free: int


@dataclass(frozen=True)
class _Turn:
    limit: _Limit
    number: int
    held_until: float = 0  # the lockout this turn set while its password is checked


@dataclass(frozen=True)
class SignInAttempt:
    """The turns one sign-in took from its account and its address, settled by its outcome."""

    now: float
    account: _Turn
    origin: _Turn


def _limits(email: str, address: str) -> tuple[_Limit, _Limit]:
    settings = get_settings()
    # the email address is personal data: the table holds only its hash
    return (
        _Limit(f"signin-account:{hash_key(email)}", settings.signin_account_failures),
        _Limit(_address("signin", address), settings.signin_address_failures),
    )


def _address(action: str, address: str) -> str:
    return f"{action}-address:{address}"


def _clock(now: float | None) -> float:
    return time.time() if now is None else now


def _lockout(turn: int, free: int) -> int:
    settings = get_settings()
    return lockout_seconds(
        turn, free, settings.signin_lockout_base_s, settings.signin_lockout_max_s
    )


def _take_turn(limit: _Limit, now: float) -> _Turn:
    """This attempt's turn for `limit`'s subject; 429 while it is locked out."""
    window = get_settings().attempt_window_s
    for _ in range(_TRIES):
        number = store.take_free_attempt(limit.subject, now, limit.free, window, window)
        if number is not None:
            return _Turn(limit, number)
        state = store.current(limit.subject)
        if state is None:
            continue  # cleared meanwhile by a success: a free turn again
        if state.locked_until > now:
            raise TooManyAttempts(SIGN_IN_LOCKED, retry_after(state.locked_until, now))
        number = state.attempts + 1
        until = now + _lockout(number, limit.free)
        if store.take_attempt_past_lockout(limit.subject, now, state.attempts, until, window):
            return _Turn(limit, number, until)
    raise TooManyAttempts(SIGN_IN_LOCKED, 1)


def begin_sign_in(email: str, address: str, now: float | None = None) -> SignInAttempt:
    """Take a turn for a sign-in (or a password check) from the account and the address;
    429 with the wait when either is locked out."""
    moment = _clock(now)
    account, origin = _limits(email, address)
    account_turn = _take_turn(account, moment)
    try:
        origin_turn = _take_turn(origin, moment)
    except TooManyAttempts:
        store.give_back(account.subject, account_turn.held_until)
        raise
    return SignInAttempt(moment, account_turn, origin_turn)


def sign_in_failed(attempt: SignInAttempt) -> None:
    """The password was wrong: lock out each subject whose free turns this used up."""
    window = get_settings().attempt_window_s
    for turn in (attempt.account, attempt.origin):
        wait = _lockout(turn.number, turn.limit.free)
        if wait:
            store.lock_until(turn.limit.subject, attempt.now + wait, window)


def sign_in_succeeded(attempt: SignInAttempt) -> None:
    """Forget the account's failures; give the address its turn back (and lift the lockout
    that turn held while it was checked)."""
    store.forget(attempt.account.limit.subject)
    store.give_back(attempt.origin.limit.subject, attempt.origin.held_until)


@contextmanager
def settled_on_fault(attempt: SignInAttempt) -> Iterator[None]:
    """Give both turns back when the password could not be checked at all (a store fault): an
    attempt that never reached a verdict is no failure."""
    try:
        yield
    except Exception:
        for turn in (attempt.account, attempt.origin):
            try:
                store.give_back(turn.limit.subject, turn.held_until)
            except Exception:  # the store is likely what failed: the turn ages out with its window
                log.warning("could not give back a sign-in turn", exc_info=True)
        raise


def _allow(action: str, address: str, limit: int, message: str, now: float | None) -> None:
    settings = get_settings()
    moment = _clock(now)
    window = settings.attempt_window_s
    count = store.add_attempt(_address(action, address), moment, window, window)
    if count.attempts > limit:
        raise TooManyAttempts(message, retry_after(count.window_start + window, moment))


def count_sign_up(address: str, now: float | None = None) -> None:
    """Count a sign-up attempt from `address`; 429 past the allowance of the window."""
    _allow("signup", address, get_settings().signup_per_address, SIGN_UPS, now)


def count_feedback(address: str, now: float | None = None) -> None:
    """Count a feedback submission from `address`; 429 past the allowance of the window."""
    _allow("feedback", address, get_settings().feedback_per_address, FEEDBACK, now)
