"""Powertools logger, metrics and tracer shared by the Lambda handlers.

Logs are JSON with the request's correlation id and the cold-start flag; metrics go out as
CloudWatch EMF lines (namespace from POWERTOOLS_METRICS_NAMESPACE); the tracer switches itself
off outside Lambda. Only handlers record metrics.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger(service="exif-service")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ExifService"))
tracer = Tracer(service="exif-service")
# Powertools configures only top-level loggers that already exist: create the package's one so
# every `exif_service.*` module logger (made now or later) propagates into the JSON handler.
logging.getLogger("exif_service")
copy_config_to_registered_loggers(source_logger=logger, include={"exif_service"})
logging.getLogger("botocore").setLevel(logging.WARNING)
