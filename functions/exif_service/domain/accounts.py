"""Accounts and API keys as plain data, and the rules for making and recognising keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "exs_"
MAX_KEYS_PER_USER = 5


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    plan: Plan
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    user_id: str
    name: str
    masked: str
    created_at: datetime
    last_used_at: datetime | None


def new_api_key() -> str:
    """`exs_` followed by 43 URL-safe random characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    """The SHA-256 hex digest under which a key or session token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def mask_key(raw: str) -> str:
    """A listing form that identifies a key without revealing it: `exs_abcd…wxyz`."""
    return f"{raw[:8]}…{raw[-4:]}"


def looks_like_key(raw: str | None) -> bool:
    return bool(raw) and len(raw or "") <= 256 and (raw or "").isprintable()
