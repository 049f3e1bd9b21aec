"""A slow network in front of the AWS emulator: chosen DynamoDB operations arrive late.

Races between a check and a write are real but narrow; holding every write of one kind for a
moment (before it reaches the emulator, which then applies it whole) makes every racer do its
check inside that window, as a slow link to DynamoDB would. Nothing in the app is patched: it
talks to this proxy as it would to DynamoDB.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from exif_service.settings import Settings, get_settings
from exif_service.store.aws import reset_clients
from tests.support.faults import relay


def _handler(upstream: str, slow: frozenset[str], delay_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            if operation in slow:
                time.sleep(delay_s)
            relay(self, upstream, body)

        do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    return Handler


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def slow_dynamodb(
    monkeypatch: pytest.MonkeyPatch, operations: set[str], delay_s: float
) -> Iterator[Settings]:
    """moto's server behind a proxy holding `operations` for `delay_s`; the app points at it.

    moto serialises item writes as DynamoDB does (`make_item_writes_atomic`).
    """
    from moto.server import ThreadedMotoServer

    from exif_service.local.emulator import make_item_writes_atomic, prepare_store

    make_item_writes_atomic()
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    handler = _handler(f"http://127.0.0.1:{port}", frozenset(operations), delay_s)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    proxy.daemon_threads = True
    thread = threading.Thread(target=proxy.serve_forever, name="slow-proxy", daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_address[1]}")
        get_settings.cache_clear()
        reset_clients()
        settings = get_settings()
        prepare_store(settings)
        yield settings
    finally:
        proxy.shutdown()
        proxy.server_close()
        moto.stop()
        get_settings.cache_clear()
        reset_clients()
