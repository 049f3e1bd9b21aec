"""Building an HTTP Lambda handler from routers: FastAPI app + Mangum, made once per container.

The ExifTool pool is started during the init phase (module import of the handler module), so
the first request of a cold start does not pay for it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from fastapi import APIRouter
from mangum import Mangum

from exif_service.api.app import create_app
from exif_service.api.errors import Surface, Surfaces
from exif_service.api.surfaces import API_SURFACES
from exif_service.observability import logger, metrics, tracer
from exif_service.services.runtime import engine_pool

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
# path segments that are ids rather than names: folded so metric dimensions stay few
_ID_LIKE = re.compile(r"^(?=.*\d)[\w.=-]{8,}$|^\d+$")


def http_handler(
    *routers: APIRouter, engine: bool = True, surfaces: Sequence[Surface] = API_SURFACES
) -> LambdaHandler:
    """A Lambda handler for API Gateway HTTP API (payload 2.0) events serving `routers`."""
    if engine:
        engine_pool().warm()  # in the init phase, not the first request
    served = Surfaces(tuple(surfaces))
    adapter = Mangum(create_app(*routers, surfaces=surfaces), lifespan="off")

    # capture_response=False: responses may carry the caller's file, which never goes to traces
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response: dict[str, Any] = adapter(event, context)
        _record(event, response, time.perf_counter() - started, served, processes_files=engine)
        return response

    typed: LambdaHandler = handler
    return typed


def _record(
    event: dict[str, Any],
    response: dict[str, Any],
    seconds: float,
    surfaces: Surfaces,
    *,
    processes_files: bool,
) -> None:
    """Request metrics by surface and operation (the API route, or the path with ids folded)."""
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method", "GET"))
    path = str(event.get("rawPath") or http.get("path") or "/")
    surface = surfaces.for_path(path)
    route = str(event.get("routeKey") or "")
    if route and "+}" not in route and route != "$default":
        operation = route.split(" ", 1)[-1]
    else:
        operation = "/".join("{id}" if _ID_LIKE.match(part) else part for part in path.split("/"))
    status = int(response.get("statusCode", 500))
    metrics.add_dimension("surface", surface.name if surface else "web")
    metrics.add_dimension("operation", f"{method} {operation}"[:200])
    metrics.add_metric("RequestLatency", MetricUnit.Milliseconds, round(seconds * 1000, 1))
    if processes_files and status < 300 and (method == "POST" or path == "/v1/metadata"):
        metrics.add_metric("FilesProcessed", MetricUnit.Count, 1)
    if status == 429:
        metrics.add_metric("QuotaRejections", MetricUnit.Count, 1)
    if status >= 500:
        metrics.add_metric("Errors", MetricUnit.Count, 1)
