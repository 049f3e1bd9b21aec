"""Powertools logger, metrics and tracer shared by the Lambda handlers.

Logs are JSON with the request's correlation id and the cold-start flag; metrics go out as
CloudWatch EMF lines (namespace from POWERTOOLS_METRICS_NAMESPACE). The X-Ray tracer exists only
where tracing is on (in a Lambda function, unless POWERTOOLS_TRACE_DISABLED): elsewhere its SDK,
about a third of a second of imports, is never loaded and the decorators hand the function back.
Only handlers record metrics.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

_TRUTHY = frozenset({"1", "true", "t", "yes", "y", "on"})


def tracing_on() -> bool:
    """Powertools' own rule: traces are sent from a Lambda function (not SAM local) unless
    POWERTOOLS_TRACE_DISABLED is true."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUTHY:
        return False
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    return in_lambda and not os.environ.get("AWS_SAM_LOCAL")


class Untraced:
    """The part of the tracer's interface the handlers use, doing nothing."""

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        """`@tracer.capture_lambda_handler` and `@tracer.capture_lambda_handler(...)` alike."""
        if lambda_handler is None:
            return _unchanged
        return lambda_handler


def _unchanged(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


logger = Logger(service="exif-service")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ExifService"))
tracer: Tracer | Untraced = Tracer(service="exif-service") if tracing_on() else Untraced()
# Powertools configures only top-level loggers that already exist: create the package's one so
# every `exif_service.*` module logger (made now or later) propagates into the JSON handler.
logging.getLogger("exif_service")
copy_config_to_registered_loggers(source_logger=logger, include={"exif_service"})
logging.getLogger("botocore").setLevel(logging.WARNING)
