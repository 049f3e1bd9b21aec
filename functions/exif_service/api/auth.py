"""One place that turns whatever credential a surface accepts into an account."""

from __future__ import annotations

from fastapi import Request

from exif_service.domain.accounts import Account, looks_like_key
from exif_service.domain.errors import Unauthorized
from exif_service.store.accounts import resolve_api_key


def v1_key(request: Request) -> str | None:
    """The v1 surface's key: `X-API-Key` header, else `?key=`."""
    return request.headers.get("x-api-key") or request.query_params.get("key") or None


def account_for_key(raw: str | None) -> Account:
    """The owner of a raw API key; 401 for a missing, unknown or revoked key."""
    if not raw or not looks_like_key(raw):
        raise Unauthorized("Invalid API key")
    account = resolve_api_key(raw.strip())
    if account is None:
        raise Unauthorized("Invalid API key")
    return account


def bearer_key(request: Request) -> str | None:
    """`Authorization: Bearer exs_...` (images surface)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def basic_key(request: Request) -> str | None:
    """`Authorization: Basic base64(key:anything)`: the key is the user name (ImageKit surface)."""
    import base64
    import binascii

    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


def api_account(raw: str | None) -> Account:
    """The owner of an API key, who must still be on the Pro plan (403 with upgradeUrl if not)."""
    from exif_service.domain.plans import require_api_access

    account = account_for_key(raw)
    require_api_access(account)
    return account
