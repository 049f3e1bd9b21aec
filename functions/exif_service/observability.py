"""Powertools logger shared by the Lambda handlers (JSON logs with correlation ids)."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger(service="exif-service")
copy_config_to_registered_loggers(source_logger=logger, include={"exif_service"})
logging.getLogger("botocore").setLevel(logging.WARNING)
