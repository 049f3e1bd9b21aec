"""The `url` input: JSON body, form field or query parameter, fetched from a local web server.

Private addresses are allowed here (EXIF_SERVICE_ALLOW_PRIVATE_URLS=true) so that a server on
127.0.0.1 can stand in for the internet; the address rules themselves are in test_fetch.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.support.media import make_photo
from tests.support.v1 import V1Stack, v1_stack

from exif_service.settings import get_settings


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A web server with a photo, redirects, an endless body, a stalled body and a 404."""
    photo = make_photo(tmp_path_factory.mktemp("origin") / "photo.jpg").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path in ("/photo.jpg", "/images/vacation%20photo.jpg"):
                self._send(200, photo, "image/jpeg")
            elif path.startswith("/hop/"):
                left = int(path.rsplit("/", 1)[1])
                target = f"/hop/{left - 1}" if left > 1 else "/photo.jpg"
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            elif path == "/endless.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()  # no Content-Length: the body ends when we stop
                chunk = b"\0" * (1024 * 1024)
                try:
                    for _ in range(40):
                        self.wfile.write(chunk)
                except OSError:
                    pass
            elif path == "/stall.jpg":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"\xff\xd8")
                self.wfile.flush()
                time.sleep(5)
            else:
                self._send(404, b"nope", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("EXIF_SERVICE_FETCH_READ_TIMEOUT_S", "1")
    get_settings.cache_clear()


def _key(stack: V1Stack) -> dict[str, str]:
    return {"X-API-Key": stack.user.key}


def test_url_in_json_body(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/photo.jpg"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fileName"] == "photo.jpg"
    assert body["metadata"]["exif"]["Make"] == "Canon"
    assert body["metadata"]["File"]["Name"] == "photo.jpg"


def test_url_as_form_field(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), data={"url": f"{origin}/photo.jpg"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["exif"]["Model"] == "Canon EOS R5"


def test_url_as_query_parameter_with_key_in_query(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", params={"key": stack.user.key, "url": f"{origin}/photo.jpg"}
    )
    assert r.status_code == 200, r.text


def test_url_file_name_is_decoded_from_the_path(stack: V1Stack, origin: str) -> None:
    url = f"{origin}/images/vacation%20photo.jpg?size=large"
    r = stack.client.post("/api/v1/extract", headers=_key(stack), json={"url": url})
    assert r.json()["fileName"] == "vacation photo.jpg"


def test_remove_by_url_then_download(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/remove", headers=_key(stack), json={"url": f"{origin}/photo.jpg"}
    )
    assert r.status_code == 200, r.text
    cleaned = stack.client.get(r.json()["downloadUrl"])
    assert cleaned.status_code == 200
    assert b"Canon" not in cleaned.content
    assert "photo.jpg" in cleaned.headers["content-disposition"]


def test_five_redirects_are_followed(stack: V1Stack, origin: str) -> None:
    r = stack.client.post("/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/hop/5"})
    assert r.status_code == 200, r.text


def test_more_than_five_redirects_is_400(stack: V1Stack, origin: str) -> None:
    r = stack.client.post("/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/hop/6"})
    assert r.status_code == 400
    assert "redirected more than 5" in r.json()["error"]


def test_body_over_25_mb_is_413(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/endless.jpg"}
    )
    assert r.status_code == 413
    assert "25 MB" in r.json()["error"]


def test_server_that_stops_sending_is_400_after_the_read_timeout(
    stack: V1Stack, origin: str
) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/stall.jpg"}
    )
    assert r.status_code == 400
    assert "in time" in r.json()["error"]


def test_error_status_from_the_origin_is_400(stack: V1Stack, origin: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/missing.jpg"}
    )
    assert r.status_code == 400
    assert "404" in r.json()["error"]


def test_unreachable_port_is_400(stack: V1Stack) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"http://127.0.0.1:{port}/a.jpg"}
    )
    assert r.status_code == 400


def test_loopback_origin_is_refused_when_private_urls_are_off(
    stack: V1Stack, origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    r = stack.client.post("/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/hop/1"})
    assert r.status_code == 400
    assert "private" in r.json()["error"]


def test_origin_error_page_is_never_treated_as_the_callers_file(
    stack: V1Stack, origin: str
) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers=_key(stack), json={"url": f"{origin}/missing.txt"}
    )
    assert r.status_code == 400


def test_downloaded_file_is_in_a_private_workspace_removed_afterwards(
    stack: V1Stack, origin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for path in ("/photo.jpg", "/hop/6", "/endless.jpg"):
        stack.client.post("/api/v1/extract", headers=_key(stack), json={"url": origin + path})
    stack.client.post("/api/v1/remove", headers=_key(stack), json={"url": f"{origin}/photo.jpg"})
    assert list(tmp_path.iterdir()) == []
