"""A fault-injecting HTTP proxy in front of the AWS emulator (moto's server).

The app is pointed at the proxy (`AWS_ENDPOINT_URL`); every call is forwarded to the emulator
unless a fault matches it. DynamoDB calls are chosen by operation (`X-Amz-Target`) and table,
S3 calls by method and key prefix. A fault answers a throttle (400 ThrottlingException or
ProvisionedThroughputExceededException, as DynamoDB sends them), a 503 SlowDown (as S3 sends
it), resets the connection, holds the call longer than the client's read timeout, or (`late`)
holds it and then forwards it, as a slow link does, so racing requests all make their checks
inside that window. Nothing in the app is patched: its clients see the same bytes a failing or
slow AWS would send. `proxied_store` starts moto's server behind a proxy and points the app at it.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pytest

from exif_service.settings import get_settings
from exif_service.store.aws import reset_clients

Kind = Literal["throttle", "throughput", "slowdown", "reset", "delay", "late"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "expect",
    "proxy-connection",
    "te",
    "upgrade",
}
_DYNAMODB_ERRORS = {
    "throttle": "ThrottlingException",
    "throughput": "ProvisionedThroughputExceededException",
}


@dataclass
class Fault:
    """Fail the matching calls: `skip` of them pass first, then `times` fail (None: all)."""

    kind: Kind
    service: Literal["dynamodb", "s3"]
    operation: str | None = None  # DynamoDB: PutItem, UpdateItem, Query, ...
    table: str | None = None  # DynamoDB: the full table name
    method: str | None = None  # S3: PUT, GET, DELETE, ...
    key_prefix: str | None = None  # S3: the object key's start
    skip: int = 0
    times: int | None = None
    delay_s: float = 3.0
    seen: int = 0  # matching calls so far
    hits: int = 0  # calls this fault failed

    def _take(self) -> bool:
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass(frozen=True)
class Call:
    """One call that reached the proxy (failed or forwarded)."""

    service: str
    operation: str  # DynamoDB operation or S3 method
    tables: tuple[str, ...] = ()
    key: str = ""
    failed: bool = False


@dataclass
class FaultProxy:
    """`with FaultProxy(upstream) as proxy:` listens on `proxy.url` until the block ends."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_dynamodb(
        self,
        operation: str | None,
        table: str | None = None,
        kind: Kind = "throttle",
        **options: Any,
    ) -> Fault:
        """Fail DynamoDB `operation` calls on `table` (None: any) the way `kind` says."""
        fault = Fault(kind, "dynamodb", operation=operation, table=table, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail_s3(
        self, method: str, key_prefix: str = "", kind: Kind = "slowdown", **options: Any
    ) -> Fault:
        """Fail S3 `method` calls on keys starting with `key_prefix` the way `kind` says."""
        fault = Fault(kind, "s3", method=method.upper(), key_prefix=key_prefix, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Every call passes again."""
        with self._lock:
            self.faults.clear()

    def reset_log(self) -> None:
        with self._lock:
            self.calls.clear()

    def _match(self, call: Call) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if _matches(fault, call) and fault._take():
                    return fault
        return None

    def _log(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def _matches(fault: Fault, call: Call) -> bool:
    if fault.service != call.service:
        return False
    if fault.service == "dynamodb":
        return fault.operation in (None, call.operation) and (
            fault.table is None or fault.table in call.tables
        )
    return call.operation == fault.method and call.key.startswith(fault.key_prefix or "")


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive and `Expect: 100-continue`, as botocore uses

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        body = self._read_body()
        call = _describe(self.command, self.path, self.headers, body)
        fault = self.owner._match(call)
        self.owner._log(
            Call(call.service, call.operation, call.tables, call.key, failed=fault is not None)
        )
        if fault is not None and fault.kind == "late":
            time.sleep(fault.delay_s)
            fault = None
        if fault is None:
            self._forward(body)
        elif fault.kind == "reset":
            self._reset()
        elif fault.kind == "delay":
            time.sleep(fault.delay_s)  # the client has given up by now
            self._reset()
        elif fault.kind == "slowdown":
            self._send_s3_slowdown()
        else:
            self._send_dynamodb_error(_DYNAMODB_ERRORS[fault.kind])

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> None:
        relay(self, self.owner.upstream, body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, as a crashed or overloaded endpoint does."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the connection was reset on purpose

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", uuid.uuid4().hex)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_dynamodb_error(self, code: str) -> None:
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}
        self._send(400, "application/x-amz-json-1.0", json.dumps(body).encode())

    def _send_s3_slowdown(self) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            f"<Message>injected</Message><RequestId>{uuid.uuid4().hex}</RequestId></Error>"
        )
        self._send(503, "application/xml", body.encode())


def _describe(method: str, path: str, headers: Any, body: bytes) -> Call:
    target = headers.get("X-Amz-Target", "")
    if target.startswith("DynamoDB_"):
        operation = target.split(".", 1)[1]
        return Call("dynamodb", operation, _tables(body))
    if target:
        return Call("other", target)
    # S3, path-style: /<bucket>/<key>?<query>
    parts = unquote(urlsplit(path).path).lstrip("/").split("/", 1)
    return Call("s3", method.upper(), key=parts[1] if len(parts) == 2 else "")


def _tables(body: bytes) -> tuple[str, ...]:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return ()
    names: list[str] = []
    if "TableName" in request:
        names.append(request["TableName"])
    names += list(request.get("RequestItems", {}))
    for item in request.get("TransactItems", []):
        names += [part["TableName"] for part in item.values() if "TableName" in part]
    return tuple(names)


def relay(handler: BaseHTTPRequestHandler, upstream: str, body: bytes) -> None:
    """Send the request `handler` holds (with `body`) to `upstream`, and its answer back."""
    target = urlsplit(upstream)
    conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["Content-Length"] = str(len(body))
    try:
        conn.request(handler.command, handler.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
    finally:
        conn.close()
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)


_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def proxied_store(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Iterator[FaultProxy]:
    """moto's server behind a FaultProxy, with settings, boto3 clients and pynamodb pointed at
    the proxy, with test credentials; `settings` are extra EXIF_SERVICE_* variables
    (`STORE_READ_TIMEOUT_S="1"`).

    moto serialises item writes as DynamoDB does (`make_item_writes_atomic`).
    """
    from moto.server import ThreadedMotoServer

    from exif_service.local.emulator import make_item_writes_atomic, prepare_store
    from exif_service.store.bind import bind_models

    make_item_writes_atomic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with FaultProxy(f"http://{host}:{port}") as proxy:
            monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
            for name, value in _TEST_CREDENTIALS.items():
                monkeypatch.setenv(name, value)
            for name, value in settings.items():
                monkeypatch.setenv(f"EXIF_SERVICE_{name.upper()}", value)
            get_settings.cache_clear()
            reset_clients()
            bound = get_settings()
            bind_models(bound, force=True)
            prepare_store(bound)
            yield proxy
    finally:
        server.stop()
        get_settings.cache_clear()
        reset_clients()


@contextmanager
def slow_dynamodb(
    monkeypatch: pytest.MonkeyPatch, operations: set[str], delay_s: float
) -> Iterator[FaultProxy]:
    """The store behind a slow link: DynamoDB `operations` reach moto `delay_s` late."""
    with proxied_store(monkeypatch) as proxy:
        for operation in sorted(operations):
            proxy.fail_dynamodb(operation, kind="late", delay_s=delay_s)
        yield proxy
