"""Throttling of the account endpoints, per account and per client address.

- Sign-in: failures are counted per account and per address. From the `signin_account_failures`th
  failure of an account (the `signin_address_failures`th of an address, which many people may
  share) the subject is locked out for `signin_lockout_base_s`, doubled with each further
  failure up to `signin_lockout_max_s`; a locked subject gets 429 with Retry-After without its
  password being checked. A successful sign-in clears the account's count (never the
  address's: signing in to one's own account must not buy more guesses at another).
- Sign-up and feedback: at most `signup_per_address` / `feedback_per_address` attempts per
  address in each window of `attempt_window_s`.

The state lives in DynamoDB (store/throttle.py), so it holds across processes and Lambda
instances. Every function takes the clock (`now`, epoch seconds) so tests move time freely.
"""

from __future__ import annotations

import time

from exif_service.domain.accounts import hash_key
from exif_service.domain.errors import TooManyAttempts
from exif_service.domain.throttle import lockout_seconds, retry_after
from exif_service.settings import get_settings
from exif_service.store import throttle as store

SIGN_IN_LOCKED = "Too many failed sign-in attempts. Try again later."
SIGN_UPS = "Too many sign-ups from this address. Try again later."
FEEDBACK = "Too much feedback from this address. Try again later."


def _account(email: str) -> str:
    # the address is personal data: the table holds only its hash
    return f"signin-account:{hash_key(email)}"


def _address(action: str, address: str) -> str:
    return f"{action}-address:{address}"


def _clock(now: float | None) -> float:
    return time.time() if now is None else now


def check_sign_in(email: str, address: str, now: float | None = None) -> None:
    """Refuse (429) a sign-in for an account or from an address that is locked out."""
    moment = _clock(now)
    for subject in (_account(email), _address("signin", address)):
        state = store.current(subject)
        if state is not None and state.locked_until > moment:
            raise TooManyAttempts(SIGN_IN_LOCKED, retry_after(state.locked_until, moment))


def sign_in_failed(email: str, address: str, now: float | None = None) -> None:
    """Count a failed sign-in against the account and the address; lock either past its
    allowance."""
    settings = get_settings()
    moment = _clock(now)
    window = settings.attempt_window_s
    for subject, free in (
        (_account(email), settings.signin_account_failures),
        (_address("signin", address), settings.signin_address_failures),
    ):
        count = store.add_attempt(subject, moment, window, window)
        wait = lockout_seconds(
            count.attempts, free, settings.signin_lockout_base_s, settings.signin_lockout_max_s
        )
        if wait:
            store.lock_until(subject, moment + wait, window)


def sign_in_succeeded(email: str) -> None:
    """Forget the account's failures (its address keeps its count)."""
    store.forget(_account(email))


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
