"""v1 surface errors: `{"success": false, "error": "..."}` with the v1 status codes."""

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

STATUS = DEFAULT_STATUS_CODES


def render(status: int, error: e.ServiceError | None, request_id: str) -> JSONResponse:
    # domain messages are written to be shown; anything else gets the generic text
    message = error.message if error is not None else default_message(status)
    body: dict[str, object] = {"success": False, "error": message}
    if status >= 500:
        body["requestId"] = request_id
    if isinstance(error, e.PlanRequired | e.QuotaExceeded):
        body["upgradeUrl"] = "/pricing"
    return JSONResponse(body, status_code=status, headers=retry_headers(error))


SURFACE = Surface(
    name="v1",
    prefixes=("/api/v1/extract", "/api/v1/remove", "/api/v1/uploads", "/download-cleaned"),
    status_table=STATUS,
    render=render,
)
V1Route = route_class_for(SURFACE)
