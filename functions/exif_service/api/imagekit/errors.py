"""ImageKit surface errors: `{"message", "help"}`, and rate-limit headers on a 429."""

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
    # a 429's X-RateLimit-* (in this surface's milliseconds) and Retry-After come from the
    # charge's own count, added by api.ratelimit's middleware like every other answer's
    return JSONResponse(
        {"message": message, "help": help_text}, status_code=status, headers=retry_headers(error)
    )


SURFACE = Surface(
    name="imagekit",
    prefixes=("/v1/", "/api/v1/files"),
    status_table=STATUS,
    render=render,
)
ImageKitRoute = route_class_for(SURFACE)
