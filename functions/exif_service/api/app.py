"""The one app factory: an app serving some routers, in the envelopes of the given surfaces."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from exif_service.api.docs import docs_router
from exif_service.api.errors import Surface, Surfaces, request_id_of
from exif_service.api.idempotency import IdempotencyMiddleware
from exif_service.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from exif_service.api.openapi import install_openapi
from exif_service.api.ratelimit import RateLimitHeadersMiddleware
from exif_service.api.surfaces import API_SURFACES
from exif_service.domain.errors import ServiceError
from exif_service.settings import get_settings
from exif_service.store.bind import bind_models


def create_app(
    *routers: APIRouter,
    surfaces: Sequence[Surface] = API_SURFACES,
    title: str = "exif-service",
) -> FastAPI:
    """A FastAPI app serving `routers`; unmatched paths answer in their surface's envelope."""
    settings = get_settings()
    bind_models(settings)
    served = Surfaces(tuple(surfaces))
    # FastAPI's own docs page loads Swagger UI from a CDN: ours is served from the package
    app = FastAPI(title=title, version="1.0.0", docs_url=None, redoc_url=None)
    app.state.surfaces = served
    app.include_router(docs_router)
    for router in routers:
        app.include_router(router)
    install_openapi(app)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return served.render(request.url.path, exc.status_code, None, request_id_of(request))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return served.render(request.url.path, 400, None, request_id_of(request))

    @app.exception_handler(ServiceError)
    async def _domain(request: Request, exc: ServiceError) -> Response:
        surface = served.for_path(request.url.path)
        status = surface.status_for(exc) if surface else 500
        return served.render(request.url.path, status, exc, request_id_of(request))

    # On Lambda a request body must stay under the 6 MB payload limit once base64-encoded, so
    # the deployment lowers the request cap; files above it go to S3 by presigned upload.
    request_limit = min(
        settings.max_request_bytes or settings.max_upload_bytes, settings.max_upload_bytes
    )
    hint = (
        " Send larger files with POST /api/v1/uploads."
        if request_limit < settings.max_upload_bytes
        else ""
    )
    # innermost first: the body cap counts what the idempotency spool reads, and the
    # rate-limit headers see the charge of whatever ran inside
    app.add_middleware(IdempotencyMiddleware, surfaces=served)
    app.add_middleware(BodyLimitMiddleware, limit=request_limit, surfaces=served, hint=hint)
    app.add_middleware(RateLimitHeadersMiddleware, surfaces=served)
    app.add_middleware(RequestIdMiddleware)
    return app
