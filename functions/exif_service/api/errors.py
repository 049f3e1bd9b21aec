"""The mechanism that turns domain errors into each surface's own error responses.

Each surface declares a status table and an envelope renderer (`api/<surface>/errors.py`) and
builds its route class with `route_class_for()`; the route class catches domain errors,
request-validation errors and unexpected faults around every endpoint of that surface. Paths
that match no route (404/405) and bodies over the size limit are rendered by the app's
`Surfaces`, which picks the surface from the path prefix; the app is given its surfaces
explicitly when it is assembled (`api/app.py`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from exif_service.domain import errors as e
from exif_service.domain.errors import ServiceError
from exif_service.services.faults import as_store_unavailable

log = logging.getLogger(__name__)

# Domain error -> HTTP status, shared by the surfaces (a surface may override entries).
DEFAULT_STATUS_CODES: Mapping[type[ServiceError], int] = {
    e.BadRequest: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Gone: 410,
    e.FileTooLarge: 413,
    e.UnsupportedFile: 415,
    e.Unprocessable: 422,
    e.QuotaExceeded: 429,
    e.TooManyAttempts: 429,
    e.ServiceUnavailable: 503,
    e.EngineFailure: 500,
}

Renderer = Callable[[int, ServiceError | None, str], Response]


@dataclass(frozen=True)
class Surface:
    """How one public API reports errors."""

    name: str
    prefixes: tuple[str, ...]
    status_table: Mapping[type[ServiceError], int]
    render: Renderer  # (status, domain error or None, request id) -> response
    messages: Mapping[int, str] = field(default_factory=dict)

    def status_for(self, error: ServiceError) -> int:
        for cls in type(error).__mro__:
            if cls in self.status_table:
                return self.status_table[cls]
        return 500

    def respond(self, error: ServiceError, request_id: str) -> Response:
        return self.render(self.status_for(error), error, request_id)


@dataclass(frozen=True)
class Surfaces:
    """The surfaces one app serves; a path belongs to the one with its longest prefix."""

    members: tuple[Surface, ...]

    def for_path(self, path: str) -> Surface | None:
        best: tuple[int, Surface] | None = None
        for surface in self.members:
            for prefix in surface.prefixes:
                if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), surface)
        return best[1] if best else None

    def render(
        self, path: str, status: int, error: ServiceError | None, request_id: str
    ) -> Response:
        """An error response in the envelope of the surface that owns `path`."""
        surface = self.for_path(path)
        if surface is None:
            message = error.message if error else _DEFAULT_MESSAGES.get(status, "Error")
            return JSONResponse({"message": message}, status_code=status)
        return surface.render(status, error, request_id)


def retry_headers(error: ServiceError | None) -> dict[str, str]:
    """`Retry-After` for an error the caller may retry after a pause (store fault, lockout)."""
    if isinstance(error, e.StoreUnavailable | e.TooManyAttempts):
        return {"Retry-After": str(error.retry_after)}
    return {}


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if not rid:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return str(rid)


_DEFAULT_MESSAGES = {
    400: "Invalid request parameters",
    401: "Invalid API key",
    404: "Not found",
    405: "Method not allowed",
    413: "File too large",
    500: "An error occurred while processing your request",
}


def default_message(status: int) -> str:
    return _DEFAULT_MESSAGES.get(status, "Error")


def route_class_for(surface: Surface) -> type[APIRoute]:
    """An APIRoute subclass that renders every failure in `surface`'s envelope."""

    class SurfaceRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                rid = request_id_of(request)
                try:
                    return await original(request)
                except ServiceError as exc:
                    return surface.respond(exc, rid)
                except RequestValidationError as exc:
                    log.info("invalid request on %s: %s", surface.name, _summary(exc))
                    return surface.render(400, None, rid)
                except HTTPException as exc:
                    cause = exc.__cause__
                    if isinstance(cause, ServiceError):
                        return surface.respond(cause, rid)
                    return surface.render(exc.status_code, None, rid)
                except Exception as exc:
                    unavailable = as_store_unavailable(exc)
                    if unavailable is not None:
                        return surface.respond(unavailable, rid)
                    log.exception("unhandled error on %s (request id %s)", surface.name, rid)
                    return surface.render(500, None, rid)

            return handler

    SurfaceRoute.__name__ = f"{surface.name.title()}Route"
    return SurfaceRoute


def _summary(exc: RequestValidationError) -> str:
    return "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())[:300]
