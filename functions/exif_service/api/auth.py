"""Where each surface finds the caller's API key, and the dependencies that turn it into an owner.

The key itself is checked by the service layer (`services.accounts.key_owner`); this module
only knows HTTP: which header or query parameter a surface reads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from fastapi import Request

from exif_service.domain.accounts import Account
from exif_service.services.accounts import key_owner

KeyReader = Callable[[Request], str | None]


def v1_key(request: Request) -> str | None:
    """The v1 surface's key: `X-API-Key` header, else `?key=`."""
    return request.headers.get("x-api-key") or request.query_params.get("key") or None


def bearer_key(request: Request) -> str | None:
    """`Authorization: Bearer exs_...` (images surface)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def basic_key(request: Request) -> str | None:
    """`Authorization: Basic base64(key:anything)`: the key is the user name (ImageKit surface)."""
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


def required_owner(read_key: KeyReader) -> Callable[[Request], Account]:
    """A dependency: the owner of the key `read_key` finds (401 without one, 403 off Pro)."""

    def owner(request: Request) -> Account:
        return key_owner(read_key(request))

    return owner


def optional_owner(read_key: KeyReader) -> Callable[[Request], Account | None]:
    """A dependency: None when no key is sent, else as `required_owner`."""

    def owner(request: Request) -> Account | None:
        raw = read_key(request)
        return key_owner(raw) if raw is not None else None

    return owner
