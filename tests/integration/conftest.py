"""Fixtures the integration suites share: the v1 stack of a module, and a warm engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.v1 import V1Stack, v1_stack

from exif_service.engine.exiftool import get_pool


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    """The local app on moto with one Pro user, built once per module."""
    with v1_stack() as built:
        yield built


@pytest.fixture(autouse=True)
def _engine_started_by_main_thread() -> None:
    """Start ExifTool from the test's own thread: a worker started by a TestClient request
    thread dies with that thread, and restarting it for every test makes the suites crawl."""
    get_pool().warm()
