"""ImageKit surface errors: `{"message", "help"}`, and rate-limit headers on a 429."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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

# ImageKit reports an expired resource as missing, and a missing dependency as a 500; a storage
# fault is a 503 with Retry-After, so a client knows to send the request again later.
STATUS = {
    **DEFAULT_STATUS_CODES,
    e.Gone: 404,
    e.ServiceUnavailable: 500,
    e.StoreUnavailable: 503,
}

_MESSAGES = {
    400: "Your request is missing a parameter or has one that is not valid.",
    401: "Your request does not carry a valid private API key.",
    403: "Your API key is not allowed to do this.",
    404: "The requested resource does not exist.",
    405: "This method is not allowed on this endpoint.",
    413: "The file is larger than this service accepts.",
    415: "This kind of file is not supported.",
    429: "You have used up your allowance for today.",
    500: "Something went wrong on our side while handling your request.",
    503: "The service is briefly unable to reach its storage. Try again in a few seconds.",
}

_HELP = "The exif-service README lists the ImageKit-compatible endpoints and their parameters."
_DAY_MS = 24 * 60 * 60 * 1000


def render(status: int, error: e.ServiceError | None, request_id: str) -> JSONResponse:
    message = (
        error.message
        if error is not None and status < 500
        else _MESSAGES.get(status, default_message(status))
    )
    help_text = _HELP
    if isinstance(error, e.PlanRequired | e.QuotaExceeded):
        help_text = f"Upgrade your plan at {UPGRADE_URL} for more."
    elif status >= 500:
        help_text = f"If it keeps happening, report request id {request_id}."
    response = JSONResponse(
        {"message": message, "help": help_text}, status_code=status, headers=retry_headers(error)
    )
    if isinstance(error, e.QuotaExceeded):
        response.headers.update(rate_limit_headers(error.limit))
    return response


def rate_limit_headers(limit: int, now: datetime | None = None) -> dict[str, str]:
    """The daily allowance as ImageKit's rate-limit headers (times in milliseconds)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    reset_ms = int((midnight - now).total_seconds() * 1000)
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(max(reset_ms, 0)),
        "X-RateLimit-Interval": str(_DAY_MS),
        "Retry-After": str(max(reset_ms // 1000, 1)),
    }


SURFACE = Surface(
    name="imagekit",
    prefixes=("/v1/", "/api/v1/files"),
    status_table=STATUS,
    render=render,
)
ImageKitRoute = route_class_for(SURFACE)
