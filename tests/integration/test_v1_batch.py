"""POST /api/v1/extract/batch: many files and URLs in one request, each one stored and charged.

URLs are fetched from a web server on 127.0.0.1 (private addresses allowed for the test, as in
test_v1_url.py); a non-http scheme is still refused by the fetcher's own rules.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from tests.conftest import KeyedUser, make_user
from tests.support.media import (
    deep_xmp,
    exiftool,
    jpeg_with_segments,
    make_jpeg,
    make_photo,
    make_png,
    xmp_segment,
)
from tests.support.v1 import V1Stack

from exif_service.settings import get_settings

BATCH = "/api/v1/extract/batch"
Files = list[tuple[str, tuple[str, bytes]]]

# Text that would show the server's side of a failure: paths, temp names, the engine's words.
INTERNALS = ("/tmp", "exs-", "input.", "download.tmp", "exiftool", "Error:", "Traceback")


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("EXIF_SERVICE_FETCH_READ_TIMEOUT_S", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()  # the next module must not inherit this test's settings


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "photo": make_photo(folder / "photo.jpg").read_bytes(),
        "png": make_png(folder / "a.png").read_bytes(),
    }


@pytest.fixture(scope="module")
def origin(media: dict[str, bytes]) -> Iterator[str]:
    """A web server with a photo at /photo.jpg and a 404 everywhere else."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            found = self.path == "/photo.jpg"
            body = media["photo"] if found else b"nope"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "image/jpeg" if found else "text/plain")
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


def _post(
    stack: V1Stack,
    user: KeyedUser | None = None,
    *,
    files: Files | None = None,
    urls: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> Response:
    """Files as `file` parts (and URLs in a `urls` field), or URLs alone as a JSON body."""
    headers = {"X-API-Key": (user or stack.user).key}
    if files is None:
        return stack.client.post(BATCH, headers=headers, params=params, json={"urls": urls})
    data = {"urls": json.dumps(urls)} if urls is not None else None
    return stack.client.post(BATCH, headers=headers, params=params, files=files, data=data)


def _used(user: KeyedUser) -> int:
    from exif_service.services.quota import used_today
    from exif_service.store.accounts import get_user

    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def _failure(item: dict[str, Any], status: int) -> None:
    assert item["success"] is False, item
    assert item["status"] == "failed"
    assert item["httpStatus"] == status, item
    assert "uuid" not in item and "metadata" not in item
    lowered = item["error"].lower()
    assert not any(word.lower() in lowered for word in INTERNALS), item["error"]


def test_good_and_bad_files_answer_in_order_and_only_the_bad_ones_fail(
    stack: V1Stack, media: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the per-file cap is lowered after the app was built, so the request itself gets through
    monkeypatch.setenv("EXIF_SERVICE_MAX_UPLOAD_BYTES", str(200 * 1024))
    get_settings.cache_clear()
    deep = jpeg_with_segments(xmp_segment(deep_xmp(2700)))
    files: Files = [
        ("file", ("first.jpg", media["photo"])),
        ("file", ("script.jpg", b"#!/bin/sh\nrm -rf /\n")),
        ("file", ("../../etc/second.png", media["png"])),
        ("file", ("deep.jpg", deep)),
        ("file", ("empty.jpg", b"")),
        ("file", ("huge.jpg", b"\xff\xd8" + bytes(300 * 1024))),
        ("file", ("last.jpg", media["photo"])),
    ]
    r = _post(stack, files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    results = body["results"]
    assert [item.get("fileName") for item in results] == [
        "first.jpg",
        "script.jpg",
        "second.png",
        "deep.jpg",
        "empty.jpg",
        "huge.jpg",
        "last.jpg",
    ]
    for good in (results[0], results[2], results[6]):
        assert good["success"] is True
        assert good["status"] == "completed"
        assert good["metadata"]["File"]["Name"] == good["fileName"]
    assert results[0]["metadata"]["exif"]["Make"] == "Canon"
    assert results[2]["metadata"]["File"]["Type"] == "image/png"
    _failure(results[1], 415)
    _failure(results[3], 422)
    _failure(results[4], 400)
    assert results[4]["error"] == "The file is empty."
    _failure(results[5], 413)
    assert "limit" in results[5]["error"]
    assert "/tmp" not in r.text and "exs-" not in r.text


def test_each_result_is_stored_and_retrievable_by_its_uuid(
    stack: V1Stack, media: dict[str, bytes]
) -> None:
    files: Files = [("file", ("a.jpg", media["photo"])), ("file", ("b.png", media["png"]))]
    results = _post(stack, files=files).json()["results"]
    uuids = [item["uuid"] for item in results]
    assert len(set(uuids)) == 2
    for item in results:
        again = stack.client.get(
            f"/api/v1/extract/{item['uuid']}", headers={"X-API-Key": stack.user.key}
        )
        assert again.status_code == 200, again.text
        assert again.json()["fileName"] == item["fileName"]
        assert again.json()["metadata"] == item["metadata"]


def test_each_good_input_counts_one_image_and_each_failed_one_is_given_back(
    stack: V1Stack, media: dict[str, bytes]
) -> None:
    user = make_user("batch-count@example.com", "pro")
    files: Files = [
        ("file", ("a.jpg", media["photo"])),
        ("file", ("bad.jpg", b"not an image at all")),
        ("file", ("b.png", media["png"])),
    ]
    r = _post(stack, user, files=files, urls=["file:///etc/passwd"])
    assert [item["success"] for item in r.json()["results"]] == [True, False, True, False]
    assert _used(user) == 2


def test_urls_in_a_json_body_are_fetched_in_order_and_a_bad_one_fails_alone(
    stack: V1Stack, origin: str
) -> None:
    urls = [f"{origin}/photo.jpg", f"{origin}/missing.jpg", "file:///etc/passwd", ""]
    r = _post(stack, urls=[*urls, f"{origin}/photo.jpg"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [item["url"] for item in results] == [*urls, f"{origin}/photo.jpg"]
    for good in (results[0], results[4]):
        assert good["success"] is True
        assert good["fileName"] == "photo.jpg"
        assert good["metadata"]["exif"]["Make"] == "Canon"
    for bad in results[1:4]:
        _failure(bad, 400)
        assert "fileName" not in bad


def test_files_and_urls_in_one_multipart_request_answer_files_first_then_urls(
    stack: V1Stack, media: dict[str, bytes], origin: str
) -> None:
    # httpx sends the `urls` field before the file parts: the answer's order does not follow it
    files: Files = [("file", ("upload.png", media["png"])), ("file", ("b.jpg", media["photo"]))]
    r = _post(stack, files=files, urls=[f"{origin}/photo.jpg", f"{origin}/gone.jpg"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [item.get("fileName") for item in results] == ["upload.png", "b.jpg", "photo.jpg", None]
    assert "url" not in results[0] and "url" not in results[1]
    assert [item["url"] for item in results[2:]] == [f"{origin}/photo.jpg", f"{origin}/gone.jpg"]


def test_twenty_one_inputs_get_a_400_and_nothing_is_charged(
    stack: V1Stack, media: dict[str, bytes], origin: str
) -> None:
    user = make_user("batch-21@example.com", "pro")
    files: Files = [("file", (f"{n}.jpg", media["photo"])) for n in range(20)]
    r = _post(stack, user, files=files, urls=[f"{origin}/photo.jpg"])
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "error": "Too many inputs: at most 20 files and URLs per request.",
    }
    assert _post(stack, user, urls=[f"{origin}/photo.jpg"] * 21).status_code == 400
    assert _used(user) == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"urls": []}, "Provide at least one file"),
        ({}, "Provide at least one file"),
        ({"urls": "http://example.com/a.jpg"}, "urls must be a JSON array of URLs."),
        ({"urls": [1, 2]}, "urls must be a JSON array of URLs."),
    ],
)
def test_a_batch_without_inputs_or_with_malformed_urls_gets_a_400(
    stack: V1Stack, body: dict[str, Any], error: str
) -> None:
    r = stack.client.post(BATCH, headers={"X-API-Key": stack.user.key}, json=body)
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["error"].startswith(error)


def test_a_urls_field_that_is_not_json_gets_a_400(stack: V1Stack, media: dict[str, bytes]) -> None:
    r = stack.client.post(
        BATCH,
        headers={"X-API-Key": stack.user.key},
        files=[("file", ("a.jpg", media["photo"]))],
        data={"urls": "http://example.com/a.jpg"},
    )
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "urls must be a JSON array of URLs."}


def test_a_batch_the_days_allowance_cannot_cover_is_refused_whole_with_a_429(
    stack: V1Stack, media: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_PRO_DAILY_LIMIT", "3")
    get_settings.cache_clear()
    user = make_user("batch-quota@example.com", "pro")
    two: Files = [("file", ("a.jpg", media["photo"])), ("file", ("b.png", media["png"]))]
    assert _post(stack, user, files=two).status_code == 200
    refused = _post(stack, user, files=two)
    assert refused.status_code == 429
    assert refused.json() == {
        "success": False,
        "error": "This batch needs 2 images but 1 of today's 3 are left. "
        "Send fewer inputs or upgrade your plan for more.",
        "upgradeUrl": "/pricing",
    }
    assert _used(user) == 2
    last = _post(stack, user, files=two[:1])
    assert last.status_code == 200 and last.json()["results"][0]["success"] is True
    assert _used(user) == 3


def test_inputs_not_started_within_the_time_budget_are_answered_and_given_back(
    stack: V1Stack, media: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.services import extract

    monkeypatch.setattr(extract, "BATCH_BUDGET_S", 0.0)
    user = make_user("batch-late@example.com", "pro")
    files: Files = [("file", (f"{n}.jpg", media["photo"])) for n in range(3)]
    results = _post(stack, user, files=files).json()["results"]
    assert results[0]["success"] is True
    for late in results[1:]:
        _failure(late, 503)
        assert late["error"].startswith("Not processed: the batch ran out of time.")
    assert _used(user) == 1


def test_struct_true_shows_xmp_structures_as_single_extract_does(
    stack: V1Stack, tmp_path: Path
) -> None:
    path = make_jpeg(tmp_path / "structured.jpg")
    exiftool("-q", "-overwrite_original", "-XMP-exif:FlashFired=True", str(path))
    data = path.read_bytes()
    headers = {"X-API-Key": stack.user.key}
    single = stack.client.post(
        "/api/v1/extract",
        headers=headers,
        params={"struct": "true"},
        files={"file": ("s.jpg", data)},
    )
    batch = _post(stack, files=[("file", ("s.jpg", data))], params={"struct": "true"})
    xmp = batch.json()["results"][0]["metadata"]["xmp"]
    assert xmp == single.json()["metadata"]["xmp"]
    assert isinstance(xmp["Flash"], dict)


def test_without_a_key_the_batch_is_401_and_a_free_plan_key_is_403(
    stack: V1Stack, media: dict[str, bytes]
) -> None:
    files: Files = [("file", ("a.jpg", media["photo"]))]
    assert stack.client.post(BATCH, files=files).status_code == 401
    free = make_user("batch-free@example.com", "free")
    r = _post(stack, free, files=files)
    assert r.status_code == 403
    assert r.json()["success"] is False


def test_a_url_to_a_private_address_fails_alone_when_private_urls_are_not_allowed(
    stack: V1Stack, media: dict[str, bytes], origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    files: Files = [("file", ("a.jpg", media["photo"]))]
    r = _post(stack, files=files, urls=[f"{origin}/photo.jpg", "http://169.254.169.254/latest"])
    first, *refused = r.json()["results"]
    assert first["success"] is True
    for item in refused:
        _failure(item, 400)
