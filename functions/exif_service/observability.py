"""Powertools logger, metrics and tracer shared by the Lambda handlers.

Logs are JSON with the request's correlation id and the cold-start flag; metrics go out as
CloudWatch EMF lines (namespace from POWERTOOLS_METRICS_NAMESPACE). The X-Ray tracer exists only
where tracing is on (in a Lambda function, unless POWERTOOLS_TRACE_DISABLED): elsewhere its SDK,
about a third of a second of imports, is never loaded and the decorators hand the function back.
Where it is on, botocore and pynamodb (every store call) are instrumented at init and the other
libraries X-Ray knows when the code first imports them: instrumenting them all up front would
import httpx, requests and sqlite3 into every function's cold start (about 0.07 s).
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


# instrumented with the tracer: every function imports them at init anyway
_TRACED_AT_INIT = ("botocore", "pynamodb")
# the rest of what the X-Ray SDK's patch_all() covers (its name: the module), each once imported
_TRACED_ON_IMPORT = {
    "requests": "requests",
    "httpx": "httpx",
    "sqlite3": "sqlite3",
    "mysql": "mysql",
    "pymongo": "pymongo",
    "pymysql": "pymysql",
    "psycopg2": "psycopg2",
    "psycopg": "psycopg",
    "pg8000": "pg8000",
    "sqlalchemy_core": "sqlalchemy",
}


def _tracer() -> Tracer | Untraced:
    """The X-Ray tracer, instrumenting what patch_all() would, each library once it is loaded."""
    if not tracing_on():
        return Untraced()
    import wrapt  # the X-Ray SDK's own dependency

    traced = Tracer(service="exif-service", patch_modules=_TRACED_AT_INIT)
    for patch_name, module in _TRACED_ON_IMPORT.items():
        wrapt.register_post_import_hook(_patcher(patch_name), module)
    return traced


def _patcher(patch_name: str) -> Callable[[Any], None]:
    def instrument(_module: Any) -> None:
        from aws_xray_sdk.core import patch

        # as patch_all() does: a library X-Ray cannot instrument is left as it is
        patch([patch_name], raise_errors=False)

    return instrument


logger = Logger(service="exif-service")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ExifService"))
tracer: Tracer | Untraced = _tracer()
# Powertools configures only top-level loggers that already exist: create the package's one so
# every `exif_service.*` module logger (made now or later) propagates into the JSON handler.
logging.getLogger("exif_service")
copy_config_to_registered_loggers(source_logger=logger, include={"exif_service"})
logging.getLogger("botocore").setLevel(logging.WARNING)
