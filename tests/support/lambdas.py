"""Invoking Lambda handler modules in-process with API Gateway events."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str = "exif-service-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:exif-service-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def invoke(module: str, event: dict[str, Any]) -> tuple[int, Any, dict[str, Any]]:
    """Run `exif_service.handlers.<module>.handler`; returns status, JSON body, raw response."""
    handler = importlib.import_module(f"exif_service.handlers.{module}").handler
    response: dict[str, Any] = handler(event, LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else None
    return int(response["statusCode"]), body, response
