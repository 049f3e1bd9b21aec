"""API key management: list (masked), create (Pro, shown once), revoke (owner only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from exif_service.api.images.deps import ImagesAccount, SessionAccount
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import (
    IMAGES_ERROR_EXAMPLES,
    CreatedKey,
    Done,
    ImagesError,
    KeyList,
    iso,
)
from exif_service.api.openapi import error_responses, ok_response
from exif_service.domain.accounts import ApiKeyInfo
from exif_service.services import accounts

keys_router = APIRouter(route_class=ImagesRoute, tags=["keys"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, codes)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None


def present_key(info: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": info.key_id,
        "name": info.name,
        "maskedKey": info.masked,
        "createdAt": iso(info.created_at),
        "lastUsedAt": iso(info.last_used_at) if info.last_used_at else None,
    }


@keys_router.get(
    "/api/keys",
    responses={**ok_response(KeyList, "The caller's keys"), **_errors(401, 403, 500, 503)},
)
def list_keys(account: ImagesAccount) -> JSONResponse:
    """The caller's keys, masked, newest first."""
    return JSONResponse({"ok": True, "keys": [present_key(k) for k in accounts.list_keys(account)]})


@keys_router.post(
    "/api/keys",
    responses={
        **ok_response(CreatedKey, "The new key, shown this once"),
        **_errors(400, 401, 403, 500, 503),
    },
)
def create_key(
    account: SessionAccount, body: Annotated[NewKey | None, Body()] = None
) -> JSONResponse:
    """A new key for a signed-in Pro user; the raw key is in this response and nowhere else."""
    raw, info = accounts.create_key(account, body.name if body else None)
    return JSONResponse({"ok": True, "key": raw, "apiKey": present_key(info)})


@keys_router.delete(
    "/api/keys/{key_id}",
    responses={**ok_response(Done, "Revoked"), **_errors(401, 403, 404, 500, 503)},
)
def revoke_key(key_id: str, account: SessionAccount) -> JSONResponse:
    """Revoke one of the caller's keys; any other id is 404."""
    accounts.revoke_key(account, key_id)
    return JSONResponse({"ok": True})
