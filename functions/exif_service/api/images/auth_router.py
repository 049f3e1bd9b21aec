"""Email + password accounts and browser sessions: sign-up, sign-in, sign-out, get-session,
change-password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.images.deps import SessionAccount, client_ip
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import (
    IMAGES_ERROR_EXAMPLES,
    Done,
    ImagesError,
    SessionOrNull,
    SignedIn,
    iso,
)
from exif_service.api.images.session import (
    clear_session_cookie,
    require_same_origin,
    session_expiry,
    session_token,
    set_session_cookie,
)
from exif_service.api.images.throttled import too_many_attempts
from exif_service.api.openapi import (
    OPTIONAL_SESSION,
    PUBLIC,
    error_responses,
    ok_response,
    throttled_response,
)
from exif_service.domain.accounts import Account
from exif_service.domain.errors import TooManyAttempts
from exif_service.services import accounts
from exif_service.services.accounts import SignedIn as SignedInAccount
from exif_service.services.throttle import SIGN_IN_LOCKED, SIGN_UPS

auth_router = APIRouter(route_class=ImagesRoute, tags=["auth"])


class Credentials(BaseModel):
    """Sign-up / sign-in body; any other field (e.g. a display name) is ignored."""

    model_config = ConfigDict(extra="ignore")

    email: str
    password: str


class PasswordChange(BaseModel):
    """Change-password body: the current password and the new one."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    current_password: str = Field(alias="currentPassword")
    new_password: str = Field(alias="newPassword")


def present_user(account: Account) -> dict[str, Any]:
    return {
        "id": account.user_id,
        "email": account.email,
        "plan": account.plan.value,
        "isAdmin": account.is_admin,
        "createdAt": iso(account.created_at),
    }


def _signed_in(request: Request, signed: SignedInAccount) -> JSONResponse:
    body = {
        "ok": True,
        "user": present_user(signed.account),
        "session": {"expiresAt": iso(signed.expires_at)},
    }
    response = JSONResponse(body)
    set_session_cookie(response, request, signed.token, signed.expires_at)
    return response


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, codes)


_SIGNED_IN = ok_response(SignedIn, "Signed in: the session cookie is set")


@auth_router.post(
    "/api/auth/sign-up/email",
    openapi_extra=PUBLIC,
    responses={
        **_SIGNED_IN,
        **_errors(400, 403, 500, 503),
        **throttled_response(ImagesError, SIGN_UPS),
    },
)
def sign_up(request: Request, body: Credentials) -> JSONResponse:
    """Create a free account and sign it in (sets the session cookie); 429 with Retry-After
    past the sign-ups allowed from one address."""
    require_same_origin(request)  # a foreign page must not sign the browser into its account
    try:
        signed = accounts.sign_up(body.email, body.password, client_ip(request))
    except TooManyAttempts as exc:
        return too_many_attempts(exc)
    return _signed_in(request, signed)


@auth_router.post(
    "/api/auth/sign-in/email",
    openapi_extra=PUBLIC,
    responses={
        **_SIGNED_IN,
        **_errors(400, 401, 403, 500, 503),
        **throttled_response(ImagesError, SIGN_IN_LOCKED),
    },
)
def sign_in(request: Request, body: Credentials) -> JSONResponse:
    """Start a session for matching credentials (sets the session cookie); 429 with
    Retry-After while the account or address is locked out after repeated failures."""
    require_same_origin(request)
    try:
        signed = accounts.sign_in(body.email, body.password, client_ip(request))
    except TooManyAttempts as exc:
        return too_many_attempts(exc)
    accounts.sign_out(session_token(request))  # never keep using a token from before sign-in
    return _signed_in(request, signed)


@auth_router.post(
    "/api/auth/change-password",
    responses={
        **_SIGNED_IN,
        **_errors(400, 401, 403, 500, 503),
        **throttled_response(ImagesError, SIGN_IN_LOCKED),
    },
)
def change_password(
    request: Request, body: PasswordChange, account: SessionAccount
) -> JSONResponse:
    """Replace the signed-in user's password (the current one is required); every session of
    the account ends, and this browser gets a new one (sets the session cookie)."""
    try:
        signed = accounts.change_password(
            account,
            session_token(request),
            body.current_password,
            body.new_password,
            client_ip(request),
        )
    except TooManyAttempts as exc:
        return too_many_attempts(exc)
    return _signed_in(request, signed)


@auth_router.post(
    "/api/auth/sign-out",
    openapi_extra=OPTIONAL_SESSION,
    responses={**ok_response(Done, "Signed out"), **_errors(403, 500, 503)},
)
def sign_out(request: Request) -> JSONResponse:
    """End the session server-side and clear the cookie; fine to call when signed out."""
    token = session_token(request)
    if token:
        require_same_origin(request)
    accounts.sign_out(token)
    response = JSONResponse({"ok": True})
    clear_session_cookie(response, request)
    return response


@auth_router.get(
    "/api/auth/get-session",
    openapi_extra=OPTIONAL_SESSION,
    responses={
        **ok_response(SessionOrNull, "The signed-in user, or `null` when signed out"),
        **_errors(500, 503),
    },
)
def get_session(request: Request) -> JSONResponse:
    """The signed-in user with their plan, or a 200 `null` when signed out.

    Browser auth clients treat `null` as "no session" and read it without error handling,
    which a 401 would force on every page load; a stale cookie is cleared on the way.
    """
    found = session_expiry(request)
    if found is None:
        response = JSONResponse(None)
        if session_token(request):
            clear_session_cookie(response, request)
        return response
    account, expires = found
    return JSONResponse(
        {
            "ok": True,
            "user": present_user(account),
            "plan": account.plan.value,
            "session": {"expiresAt": iso(expires)},
        }
    )
