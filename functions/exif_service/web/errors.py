"""Errors on the web app's paths are pages, not JSON.

The web app claims the root prefix, so a path no API surface owns (a mistyped page, a wrong
method) gets a readable HTML page; every API prefix is longer and keeps its own envelope.
"""

from __future__ import annotations

from fastapi import Response

from exif_service.api.errors import (
    DEFAULT_STATUS_CODES,
    Surface,
    retry_headers,
    route_class_for,
)
from exif_service.domain import errors as e
from exif_service.web.pages import render_page

STATUS = DEFAULT_STATUS_CODES

_TITLES = {
    400: "That request did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Page not found",
    410: "No longer available",
    413: "File too large",
    415: "Unsupported file",
    429: "Daily limit reached",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def render(status: int, error: e.ServiceError | None, request_id: str) -> Response:
    page = render_page(
        "error.html",
        status,
        title=_TITLES.get(status, "Something went wrong"),
        status=status,
        # a storage fault's message is written to be shown: it says to try again shortly
        message=error.message
        if error is not None and (status < 500 or isinstance(error, e.StoreUnavailable))
        else None,
        request_id=request_id if status >= 500 else None,
    )
    page.headers.update(retry_headers(error))
    return page


SURFACE = Surface(name="web", prefixes=("/",), status_table=STATUS, render=render)
WebRoute = route_class_for(SURFACE)
