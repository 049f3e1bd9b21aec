"""Accounts: sign-up, sign-in and sessions (argon2 passwords), password changes, and API keys
(management, and the in-process key -> owner cache)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from exif_service.domain.accounts import Account, ApiKeyInfo, Plan, hash_key, looks_like_key
from exif_service.domain.errors import BadRequest, EmailTaken, NotFound, PlanRequired, Unauthorized
from exif_service.domain.plans import require_api_access
from exif_service.services import throttle
from exif_service.settings import get_settings
from exif_service.store import accounts, sessions

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
# argon2 hashes any length, but hashing megabytes on request is a cheap way to burn our CPU
MAX_PASSWORD = 128
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
BAD_CREDENTIALS = "Invalid email or password."
EMAIL_TAKEN = "An account with this email already exists. Sign in instead."
WRONG_PASSWORD = "The current password is not correct."


@dataclass(frozen=True)
class SignedIn:
    """A user with a fresh session; `token` goes into the cookie and nowhere else."""

    account: Account
    token: str
    expires_at: datetime


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # verified against when the email is unknown, so both failures cost the same time
    return _hasher().hash("not-a-password-anyone-has")


def valid_email(raw: object) -> str:
    """The normalised address, or 400 when it is not a plausible email address."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("Email is required.")
    email = accounts.normalise_email(raw)
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise BadRequest("Enter a valid email address.")
    return email


def _valid_new_password(raw: object) -> str:
    if not isinstance(raw, str) or len(raw) < MIN_PASSWORD:
        raise BadRequest(f"Password must be at least {MIN_PASSWORD} characters.")
    if len(raw) > MAX_PASSWORD:
        raise BadRequest(f"Password must be at most {MAX_PASSWORD} characters.")
    return raw


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_password(user_id: str, password: str) -> None:
    """Give a user a (new) password, e.g. from the admin CLI."""
    accounts.set_password_hash(user_id, hash_password(_valid_new_password(password)))


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _start_session(account: Account, now: datetime | None = None) -> SignedIn:
    lifetime = timedelta(days=get_settings().session_ttl_days)
    token, expires = sessions.create_session(account.user_id, lifetime, now)
    return SignedIn(account, token, expires)


def sign_up(email: object, password: object, address: str = "unknown") -> SignedIn:
    """Create a free account and sign it in; sign-ups are counted per client `address`."""
    throttle.count_sign_up(address)
    email_address = valid_email(email)
    secret = _valid_new_password(password)
    account = accounts.create_user(email_address, hash_password(secret))
    if account is None:
        raise EmailTaken(EMAIL_TAKEN)
    log.info("user signed up: %s", account.user_id)
    return _start_session(account)


def sign_in(
    email: object, password: object, address: str = "unknown", now: float | None = None
) -> SignedIn:
    """A new session for matching credentials; one generic 401 for every mismatch.

    429 while the account or the client `address` is locked out after repeated failures
    (services/throttle.py); a success clears the account's failures.
    """
    email_address = valid_email(email)
    if not isinstance(password, str) or not password:
        raise BadRequest("Password is required.")
    attempt = throttle.begin_sign_in(email_address, address, now)
    with throttle.settled_on_fault(attempt):
        account = _verified(email_address, password)
    if account is None:
        throttle.sign_in_failed(attempt)
        raise Unauthorized(BAD_CREDENTIALS)
    throttle.sign_in_succeeded(attempt)
    return _start_session(account)


def _verified(email_address: str, password: str) -> Account | None:
    """The account whose password this is (rehashed if its parameters are outdated), or None."""
    if len(password) > MAX_PASSWORD:
        return None
    found = accounts.credentials_for(email_address)
    account, stored = found if found is not None else (None, None)
    if account is None or stored is None:
        _password_matches(_dummy_hash(), password)
        return None
    if not _password_matches(stored, password):
        return None
    if _hasher().check_needs_rehash(stored):
        accounts.set_password_hash(account.user_id, hash_password(password))
    return account


def change_password(
    account: Account,
    token: str | None,
    current: object,
    new: object,
    address: str = "unknown",
    now: float | None = None,
) -> SignedIn:
    """Replace a signed-in user's password, knowing the current one; every session of the
    account is signed out and the caller gets a fresh one (so a stolen cookie dies too).

    A wrong current password counts as a failed sign-in (same lockout, 429 while locked).
    """
    if not isinstance(current, str) or not current:
        raise BadRequest("Current password is required.")
    secret = _valid_new_password(new)
    attempt = throttle.begin_sign_in(account.email, address, now)
    with throttle.settled_on_fault(attempt):
        verified = _verified(account.email, current)
    if verified is None:
        throttle.sign_in_failed(attempt)
        raise BadRequest(WRONG_PASSWORD)
    throttle.sign_in_succeeded(attempt)
    started = datetime.now(UTC)
    accounts.change_password_hash(account.user_id, hash_password(secret), started)
    sign_out(token)
    forget_account(account.user_id)
    log.info("password changed: %s", account.user_id)
    return _start_session(account, started)


def sign_out(token: str | None) -> None:
    if token:
        sessions.delete_session(token)


def account_for_token(token: str | None) -> tuple[Account, datetime] | None:
    """The account behind a live session token, and when that session expires."""
    if not token:
        return None
    found = sessions.session_user(token)
    if found is None:
        return None
    user_id, started, expires = found
    account = accounts.session_account(user_id, started)
    return (account, expires) if account is not None else None


@dataclass
class _Owner:
    account: Account
    cached_at: float
    used_at: float  # when last-used was last written for this key, on the cache's clock


class KeyCache:
    """API key (its SHA-256) -> owner, for `ttl_s` seconds of `clock`, in this process.

    A key revoked or an owner's plan changed by another process is seen once the entry
    expires; by this process, at once (`forget_user`). Unknown keys are never cached, so a new
    key works at once everywhere.
    """

    def __init__(
        self, ttl_s: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._max = max_entries
        self._owners: dict[str, _Owner] = {}
        self._lock = threading.Lock()
        # raised by every forget: an owner read before a revoke must not be remembered after it
        self.generation = 0

    def owner(self, raw: str) -> Account | None:
        """The cached owner of `raw`, noting a use (last-used written at most once a minute)."""
        digest = hash_key(raw)
        now = self.clock()
        with self._lock:
            hit = self._owners.get(digest)
            if hit is None:
                return None
            if now - hit.cached_at >= self.ttl_s:
                del self._owners[digest]
                return None
            touch = now - hit.used_at >= _LAST_USED_EVERY_S
            if touch:
                hit.used_at = now
        if touch:
            accounts.touch_api_key(raw, datetime.now(UTC))
        return hit.account

    def remember(self, raw: str, account: Account, generation: int) -> None:
        """Cache the owner read from the store while the cache was at `generation`."""
        if self.ttl_s <= 0:
            return
        now = self.clock()
        with self._lock:
            if generation != self.generation:
                return  # a key or owner was forgotten while this one was being read
            if len(self._owners) >= self._max:
                self._owners = {
                    k: v for k, v in self._owners.items() if now - v.cached_at < self.ttl_s
                }
                while len(self._owners) >= self._max:
                    del self._owners[next(iter(self._owners))]
            # the store has just written last-used (or found it under a minute old)
            self._owners[hash_key(raw)] = _Owner(account, now, now)

    def forget_user(self, user_id: str) -> None:
        with self._lock:
            self.generation += 1
            self._owners = {k: v for k, v in self._owners.items() if v.account.user_id != user_id}


# the store writes last-used when the recorded one is a minute old (store/accounts.py)
_LAST_USED_EVERY_S = 60.0


@cache
def key_cache() -> KeyCache:
    """This process's key cache, with the configured lifetime."""
    return KeyCache(get_settings().key_cache_ttl_s)


def forget_account(user_id: str) -> None:
    """Drop a user's cached keys: their keys, plan or password changed in this process."""
    key_cache().forget_user(user_id)


def key_owner(raw: str | None, cache: KeyCache | None = None) -> Account:
    """The owner of an API key, who must still be on the Pro plan.

    401 for a missing, malformed, unknown or revoked key; 403 with the upgrade address for an
    owner who has left the Pro plan. Owners are cached briefly (`KeyCache`).
    """
    if not raw or not looks_like_key(raw):
        raise Unauthorized("Invalid API key")
    key = raw.strip()
    owners = cache or key_cache()
    account = owners.owner(key)
    if account is None:
        generation = owners.generation
        account = accounts.resolve_api_key(key)
        if account is None:
            raise Unauthorized("Invalid API key")
        owners.remember(key, account, generation)
    require_api_access(account)
    return account


def create_key(account: Account, name: object) -> tuple[str, ApiKeyInfo]:
    """A new API key for a Pro user (the raw key is returned only here)."""
    if name is not None and not isinstance(name, str):
        raise BadRequest("Key name must be a string.")
    if len(name or "") > accounts.MAX_KEY_NAME:
        raise BadRequest(f"Key name must be at most {accounts.MAX_KEY_NAME} characters.")
    if account.plan is not Plan.PRO:
        raise PlanRequired("API keys require the Pro plan. Upgrade your plan to create one.")
    return accounts.create_api_key(account.user_id, name or "")


def list_keys(account: Account) -> list[ApiKeyInfo]:
    return accounts.list_api_keys(account.user_id)


def revoke_key(account: Account, key_id: str) -> None:
    """Revoke one of the caller's keys (at once in this process; see `KeyCache`); anybody
    else's key id is simply not found."""
    revoked = accounts.revoke_api_key(account.user_id, key_id)
    forget_account(account.user_id)
    if not revoked:
        raise NotFound("API key not found.")
