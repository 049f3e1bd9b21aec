"""Request bodies against the running server over real HTTP: the 25 MB cap is counted on the
wire, whatever Content-Length says, and answered before the rest of the body is read."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support.server import Served, run_cli, serve

MB = 1024 * 1024
BOUNDARY = "exsboundary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
    "Content-Type: image/jpeg\r\n\r\n"
).encode()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    root = tmp_path_factory.mktemp("server")
    with serve(root / "data", root / "server.log") as served:
        created = run_cli(
            "admin",
            "create-user",
            "--email",
            "big@example.com",
            "--plan",
            "pro",
            data_dir=root / "data",
        )
        assert created.returncode == 0, created.stderr
        yield served, created.stdout.strip().splitlines()[-1]


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    return sock


def _request_head(url: str, key: str, extra: str) -> bytes:
    host = urlsplit(url).netloc
    return (
        f"POST /api/v1/extract HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{extra}\r\n"
    ).encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, json.loads(rest[:length]) if length else {}


def _send_until_answered(sock: socket.socket, chunks: Iterator[bytes]) -> int:
    """Send chunks until the server stops reading; returns the bytes it took."""
    sent = 0
    for chunk in chunks:
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    return sent


def _chunked(total: int, piece: int = MB) -> Iterator[bytes]:
    yield f"{len(HEAD):x}\r\n".encode() + HEAD + b"\r\n"
    for _ in range(total // piece):
        yield f"{piece:x}\r\n".encode() + b"\0" * piece + b"\r\n"
    # deliberately never sends the terminating 0-size chunk: the body is not over


def test_chunked_body_over_25_mb_gets_413_before_the_body_ends(
    server: tuple[Served, str],
) -> None:
    served, key = server
    with _connect(served.url) as sock:
        sock.sendall(_request_head(served.url, key, "Transfer-Encoding: chunked\r\n"))
        _send_until_answered(sock, _chunked(27 * MB))
        # the body was never finished, so this answer can only come from the running count
        status, body = _read_response(sock)
    assert status == 413
    assert body == {"success": False, "error": "File too large: the limit is 25 MB."}


def test_declared_length_over_25_mb_gets_413_without_sending_the_body(
    server: tuple[Served, str],
) -> None:
    served, key = server
    with _connect(served.url) as sock:
        sock.sendall(_request_head(served.url, key, f"Content-Length: {26 * MB}\r\n"))
        status, body = _read_response(sock)  # nothing of the body has been sent
    assert status == 413
    assert "25 MB" in str(body["error"])


def test_small_content_length_followed_by_26_mb_is_not_read_as_the_body(
    server: tuple[Served, str],
) -> None:
    # the server takes exactly the declared bytes as the body; the rest is not the upload
    served, key = server
    with _connect(served.url) as sock:
        sock.sendall(_request_head(served.url, key, "Content-Length: 1000\r\n"))
        payload = HEAD + b"\0" * (26 * MB)
        _send_until_answered(sock, iter([payload[i : i + MB] for i in range(0, len(payload), MB)]))
        status, _ = _read_response(sock)
    assert 400 <= status < 500


def test_server_still_serves_after_the_hostile_uploads(
    server: tuple[Served, str], tmp_path: Path
) -> None:
    from tests.support.media import make_jpeg

    served, key = server
    photo = make_jpeg(tmp_path / "ok.jpg").read_bytes()
    body = HEAD + photo + f"\r\n--{BOUNDARY}--\r\n".encode()
    with _connect(served.url) as sock:
        sock.sendall(_request_head(served.url, key, f"Content-Length: {len(body)}\r\n") + body)
        status, answer = _read_response(sock)
    assert status == 200
    assert answer["success"] is True
