"""Small helpers for calling the v1 surface in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from moto import mock_aws

from tests.conftest import KeyedUser


def upload(
    client: TestClient,
    path: Path | bytes,
    *,
    key: str | None,
    endpoint: str = "/api/v1/extract",
    name: str = "photo.jpg",
    via_query: bool = False,
    params: dict[str, str] | None = None,
) -> Response:
    """POST a file the way the reference curl example does (`-F file=@...`)."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    headers: dict[str, str] = {}
    query: dict[str, Any] = dict(params or {})
    if key is not None:
        if via_query:
            query["key"] = key
        else:
            headers["X-API-Key"] = key
    return client.post(endpoint, headers=headers, params=query, files={"file": (name, data)})


@dataclass(frozen=True)
class V1Stack:
    """The local app on moto with one Pro user, shared by the tests of one module."""

    client: TestClient
    user: KeyedUser


@contextmanager
def v1_stack() -> Iterator[V1Stack]:
    """Tables and bucket in moto (built once per module: creating them costs seconds)."""
    from exif_service.local.app import create_local_app
    from exif_service.local.emulator import prepare_store
    from exif_service.settings import get_settings
    from exif_service.store.aws import reset_clients
    from tests.conftest import make_user

    with mock_aws():
        get_settings.cache_clear()
        reset_clients()
        prepare_store(get_settings())
        client = TestClient(create_local_app())
        yield V1Stack(client, make_user("module-pro@example.com", "pro"))
    reset_clients()
