"""Errors of the EXIF Service-style surface: `{"ok": false, "message", "error"?, "upgradeUrl"?}`."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from exif_service.api.errors import (
    DEFAULT_STATUS_CODES,
    Surface,
    default_message,
    retry_headers,
    route_class_for,
)
from exif_service.domain import errors as e
from exif_service.domain.plans import UPGRADE_URL

STATUS = DEFAULT_STATUS_CODES

_MESSAGES = {
    400: "Bad request: missing or invalid fields.",
    401: "Unauthorized: sign in or send a valid API key.",
    403: "Forbidden.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "File too large: the limit is 25 MB.",
    500: "Something went wrong while processing the image.",
}


def render(status: int, error: e.ServiceError | None, request_id: str) -> JSONResponse:
    message = error.message if error is not None else _MESSAGES.get(status, default_message(status))
    body: dict[str, object] = {"ok": False, "message": message}
    if isinstance(error, e.QuotaExceeded):
        body["error"] = "limit_reached"
        body["upgradeUrl"] = UPGRADE_URL
    elif isinstance(error, e.PlanRequired):
        body["error"] = "plan_required"
        body["upgradeUrl"] = UPGRADE_URL
    if status >= 500:
        body["requestId"] = request_id
    return JSONResponse(body, status_code=status, headers=retry_headers(error))


SURFACE = Surface(
    name="images",
    prefixes=(
        "/api/images",
        "/api/keys",
        "/api/billing",
        "/api/feedback",
        "/api/admin",
        "/api/auth",
        "/api/",
    ),
    status_table=STATUS,
    render=render,
)
ImagesRoute = route_class_for(SURFACE)
