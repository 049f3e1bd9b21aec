"""Building an HTTP Lambda handler from routers: FastAPI app + Mangum, made once per container.

The ExifTool pool is started during the init phase (module import of the handler module), so
the first request of a cold start does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from mangum import Mangum

from exif_service.observability import logger

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def http_handler(*routers: APIRouter, engine: bool = True) -> LambdaHandler:
    """A Lambda handler for API Gateway HTTP API (payload 2.0) events serving `routers`."""
    from exif_service.api.app import create_app

    if engine:
        from exif_service.engine.exiftool import get_pool

        get_pool().warm()
    adapter = Mangum(create_app(*routers), lifespan="off")

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = adapter(event, context)
        return response

    return handler
