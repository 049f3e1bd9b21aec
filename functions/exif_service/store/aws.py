"""Cached boto3 clients, created on first use so an emulator can be started first."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

from exif_service.settings import get_settings


@cache
def client(service: Any) -> Any:
    """A boto3 client for `service` on the configured endpoint and region."""
    settings = get_settings()
    config = Config(
        connect_timeout=settings.store_connect_timeout_s,
        read_timeout=settings.store_read_timeout_s,
        retries={"max_attempts": settings.store_max_attempts, "mode": "standard"},
        signature_version="s3v4" if service == "s3" else None,
        s3={"addressing_style": "path"} if settings.aws_endpoint_url else None,
    )
    # Imported here: boto3 (with s3transfer) is a tenth of a second or more of a cold start,
    # and a function that never makes a client here (extract, most of the time) never pays it.
    import boto3

    return boto3.client(
        service,
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=config,
    )


def reset_clients() -> None:
    """Forget cached clients (tests, and the local server after it starts the emulator)."""
    client.cache_clear()
