"""Accounts: sign-up, sign-in and sessions (argon2 passwords), and API key management."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from exif_service.domain.accounts import Account, ApiKeyInfo, Plan, looks_like_key
from exif_service.domain.errors import BadRequest, EmailTaken, NotFound, PlanRequired, Unauthorized
from exif_service.domain.plans import require_api_access
from exif_service.settings import get_settings
from exif_service.store import accounts, sessions

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
# argon2 hashes any length, but hashing megabytes on request is a cheap way to burn our CPU
MAX_PASSWORD = 128
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
BAD_CREDENTIALS = "Invalid email or password."


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


def _start_session(account: Account) -> SignedIn:
    lifetime = timedelta(days=get_settings().session_ttl_days)
    token, expires = sessions.create_session(account.user_id, lifetime)
    return SignedIn(account, token, expires)


def sign_up(email: object, password: object) -> SignedIn:
    """Create a free account and sign it in."""
    address = valid_email(email)
    secret = _valid_new_password(password)
    account = accounts.create_user(address, hash_password(secret))
    if account is None:
        raise EmailTaken("An account with this email already exists. Sign in instead.")
    log.info("user signed up: %s", account.user_id)
    return _start_session(account)


def sign_in(email: object, password: object) -> SignedIn:
    """A new session for matching credentials; one generic 401 for every mismatch."""
    address = valid_email(email)
    if not isinstance(password, str) or not password:
        raise BadRequest("Password is required.")
    if len(password) > MAX_PASSWORD:
        raise Unauthorized(BAD_CREDENTIALS)
    found = accounts.credentials_for(address)
    account, stored = found if found is not None else (None, None)
    if account is None or stored is None:
        _password_matches(_dummy_hash(), password)
        raise Unauthorized(BAD_CREDENTIALS)
    if not _password_matches(stored, password):
        raise Unauthorized(BAD_CREDENTIALS)
    if _hasher().check_needs_rehash(stored):
        accounts.set_password_hash(account.user_id, hash_password(password))
    return _start_session(account)


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
    user_id, expires = found
    account = accounts.get_user(user_id)
    return (account, expires) if account is not None else None


def key_owner(raw: str | None) -> Account:
    """The owner of an API key, who must still be on the Pro plan.

    401 for a missing, malformed, unknown or revoked key; 403 with the upgrade address for an
    owner who has left the Pro plan.
    """
    if not raw or not looks_like_key(raw):
        raise Unauthorized("Invalid API key")
    account = accounts.resolve_api_key(raw.strip())
    if account is None:
        raise Unauthorized("Invalid API key")
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
    """Revoke one of the caller's keys; anybody else's key id is simply not found."""
    if not accounts.revoke_api_key(account.user_id, key_id):
        raise NotFound("API key not found.")
