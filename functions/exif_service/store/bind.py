"""Bind the pynamodb models to this deployment's table names and endpoint, once."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.models import Model

from exif_service.settings import Settings
from exif_service.store.models import ALL_MODELS, table_key

_bound: tuple[str, str | None] | None = None


def bind_models(settings: Settings, *, force: bool = False) -> None:
    """Point every model at `<prefix>-<table>` on the configured endpoint."""
    global _bound
    marker = (settings.table_prefix, settings.aws_endpoint_url)
    if _bound == marker and not force:
        return
    for model in ALL_MODELS:
        _bind(model, settings)
    _share_one_client(settings)
    _bound = marker


def _bind(model: type[Model], settings: Settings) -> None:
    meta = model.Meta
    meta.table_name = settings.table_name(table_key(model))
    meta.region = settings.region
    meta.host = settings.aws_endpoint_url
    # the same deadlines and attempts as the boto3 clients (store/aws.py); pynamodb counts
    # retries, botocore counts attempts
    meta.connect_timeout_seconds = settings.store_connect_timeout_s
    meta.read_timeout_seconds = settings.store_read_timeout_s
    meta.max_retry_attempts = max(settings.store_max_attempts - 1, 0)
    # Drop the cached connection to the previous endpoint. Connections are otherwise kept for
    # the life of the process: each one builds a botocore client, which costs ~0.3 s.
    model._connection = None


def _share_one_client(settings: Settings) -> None:
    """Give every model's table connection one pynamodb `Connection`, hence one botocore client.

    Each `Connection` makes its own botocore session and client on first use, and each new
    session parses botocore's endpoint and service data again (~0.1 s): a request touching four
    tables paid that four times on a cold start. The tables' key schemas go with them, so
    nothing is described over the network; the client is still made lazily, on the first call.
    """
    shared = Connection(
        region=settings.region,
        host=settings.aws_endpoint_url,
        connect_timeout_seconds=settings.store_connect_timeout_s,
        read_timeout_seconds=settings.store_read_timeout_s,
        max_retry_attempts=max(settings.store_max_attempts - 1, 0),
    )
    for model in ALL_MODELS:
        table = model._get_connection()
        shared.add_meta_table(table.connection.get_meta_table(table.table_name))
        table.connection = shared


def create_tables(settings: Settings) -> None:
    """Create any missing table (local emulator and tests; production tables come from SAM)."""
    bind_models(settings)
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
