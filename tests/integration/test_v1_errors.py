"""Every v1 status code, in the `{"success": false, "error": ...}` envelope."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_user
from tests.support.fake_exiftool import write_fake_exiftool
from tests.support.v1 import V1Stack, upload, v1_stack

from exif_service.domain.errors import ServiceError


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.media import make_jpeg

    return make_jpeg(tmp_path_factory.mktemp("errors") / "a.jpg")


def _error(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    error: str = body["error"]
    return error


ENDPOINTS = ["/api/v1/extract", "/api/v1/remove"]


# 400 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_file_and_no_url_is_400(stack: V1Stack, endpoint: str) -> None:
    r = stack.client.post(endpoint, headers={"X-API-Key": stack.user.key})
    assert "file" in _error(r, 400)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_both_file_and_url_is_400(stack: V1Stack, jpeg: Path, endpoint: str) -> None:
    r = stack.client.post(
        endpoint,
        headers={"X-API-Key": stack.user.key},
        files={"file": ("a.jpg", jpeg.read_bytes())},
        data={"url": "https://example.com/a.jpg"},
    )
    assert "not both" in _error(r, 400)


def test_file_upload_plus_url_query_parameter_is_400(stack: V1Stack, jpeg: Path) -> None:
    r = upload(stack.client, jpeg, key=stack.user.key, params={"url": "https://example.com/a.jpg"})
    _error(r, 400)


@pytest.mark.parametrize("body", [b"{", b'{"url": ', b"\xff\xfe", b"[1, 2]", b'"just a string"'])
def test_malformed_json_is_400(stack: V1Stack, body: bytes) -> None:
    r = stack.client.post(
        "/api/v1/extract",
        headers={"X-API-Key": stack.user.key, "Content-Type": "application/json"},
        content=body,
    )
    _error(r, 400)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "not a url", "javascript:alert(1)"]
)
def test_bad_url_scheme_is_400_saying_what_is_wrong(stack: V1Stack, url: str) -> None:
    r = stack.client.post(
        "/api/v1/extract", headers={"X-API-Key": stack.user.key}, json={"url": url}
    )
    assert "http or https" in _error(r, 400)


def test_url_that_is_not_a_string_is_400(stack: V1Stack) -> None:
    r = stack.client.post("/api/v1/extract", headers={"X-API-Key": stack.user.key}, json={"url": 5})
    _error(r, 400)


def test_file_field_sent_as_text_is_400(stack: V1Stack) -> None:
    r = stack.client.post(
        "/api/v1/extract",
        headers={"X-API-Key": stack.user.key},
        files={"file": (None, "this is not a file")},
    )
    assert "file" in _error(r, 400)


def test_private_url_is_400_when_private_urls_are_off(stack: V1Stack) -> None:
    r = stack.client.post(
        "/api/v1/extract",
        headers={"X-API-Key": stack.user.key},
        json={"url": "http://169.254.169.254/latest/meta-data/"},
    )
    assert "private" in _error(r, 400)


def test_zero_byte_upload_is_400(stack: V1Stack) -> None:
    r = upload(stack.client, b"", key=stack.user.key)
    assert "empty" in _error(r, 400)


# 401 / 403 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_key_is_401(stack: V1Stack, jpeg: Path, endpoint: str) -> None:
    r = upload(stack.client, jpeg, key=None, endpoint=endpoint)
    assert _error(r, 401) == "Invalid API key"


@pytest.mark.parametrize("key", ["exs_" + "x" * 43, "wrong", " "])
def test_unknown_key_is_401(stack: V1Stack, jpeg: Path, key: str) -> None:
    r = upload(stack.client, jpeg, key=key)
    assert _error(r, 401) == "Invalid API key"


def test_unknown_key_in_query_is_401(stack: V1Stack, jpeg: Path) -> None:
    r = upload(stack.client, jpeg, key="exs_nope", via_query=True)
    assert _error(r, 401) == "Invalid API key"


def test_revoked_key_is_401(stack: V1Stack, jpeg: Path) -> None:
    # revoked through the keys service in this process, so the key cache forgets it at once
    from exif_service.services.accounts import key_owner, list_keys, revoke_key

    user = make_user(f"revoked-{uuid.uuid4().hex[:6]}@example.com", "pro")
    assert upload(stack.client, jpeg, key=user.key).status_code == 200
    owner = key_owner(user.key)
    (info,) = list_keys(owner)
    revoke_key(owner, info.key_id)
    assert _error(upload(stack.client, jpeg, key=user.key), 401) == "Invalid API key"


def test_key_of_a_free_plan_owner_is_403_with_upgrade_url(stack: V1Stack, jpeg: Path) -> None:
    user = make_user(f"free-{uuid.uuid4().hex[:6]}@example.com", "free")
    r = upload(stack.client, jpeg, key=user.key)
    assert "Pro" in _error(r, 403)
    assert r.json()["upgradeUrl"]


# 404 / 405 for paths the surface owns ------------------------------------------------------


def test_unknown_v1_path_and_wrong_method_use_the_v1_envelope(stack: V1Stack) -> None:
    _error(stack.client.get("/api/v1/extract/a/b"), 404)
    _error(stack.client.delete("/api/v1/remove"), 405)


# 413 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_upload_over_25_mb_is_413_naming_the_limit(stack: V1Stack, endpoint: str) -> None:
    body = b"\xff\xd8\xff" + os.urandom(26 * 1024 * 1024)
    r = upload(stack.client, body, key=stack.user.key, endpoint=endpoint)
    assert "25 MB" in _error(r, 413)


def test_upload_just_under_the_limit_is_not_413(stack: V1Stack) -> None:
    r = upload(stack.client, os.urandom(25 * 1024 * 1024 - 1024), key=stack.user.key)
    assert r.status_code == 415  # read in full, then found to be no media file


# 415 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", b"Dear diary,\nthis is a plain text file with a .jpg name.\n"),
        ("photo.jpg", os.urandom(4096)),
        ("data.json", b'{"a": 1}'),
        ("page.jpg", b"<html><body>hi</body></html>"),
    ],
    ids=["text-named-jpg", "random-bytes", "json", "html"],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_file_exiftool_cannot_read_as_media_is_415(
    stack: V1Stack, endpoint: str, name: str, data: bytes
) -> None:
    r = upload(stack.client, data, key=stack.user.key, endpoint=endpoint, name=name)
    _error(r, 415)


# 429 ---------------------------------------------------------------------------------------


def test_sixth_image_of_the_day_over_a_five_image_plan_is_429(
    stack: V1Stack, jpeg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # v1 keys need the Pro plan, so the free plan's 5/day is exercised by giving Pro that limit
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_PRO_DAILY_LIMIT", "5")
    get_settings.cache_clear()
    user = make_user(f"limited-{uuid.uuid4().hex[:6]}@example.com", "pro")
    for i in range(5):
        endpoint = ENDPOINTS[i % 2]
        assert upload(stack.client, jpeg, key=user.key, endpoint=endpoint).status_code == 200
    r = upload(stack.client, jpeg, key=user.key)
    assert "Daily limit of 5" in _error(r, 429)
    assert r.json()["upgradeUrl"]


def test_failed_requests_do_not_use_up_the_daily_limit(
    stack: V1Stack, jpeg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_PRO_DAILY_LIMIT", "2")
    get_settings.cache_clear()
    user = make_user(f"refund-{uuid.uuid4().hex[:6]}@example.com", "pro")
    for _ in range(4):
        assert upload(stack.client, b"not an image", key=user.key).status_code == 415
    assert upload(stack.client, jpeg, key=user.key).status_code == 200
    assert upload(stack.client, jpeg, key=user.key).status_code == 200
    _error(upload(stack.client, jpeg, key=user.key), 429)


# 500 ---------------------------------------------------------------------------------------


@pytest.fixture
def dying_engine(stack: V1Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app's routes run on an ExifTool that dies on every file (a dependency override)."""
    from exif_service.engine.exiftool import ExifToolPool
    from exif_service.services.runtime import engine_pool

    # answers `-ver` like a current ExifTool, then dies on every real command
    monkeypatch.setenv("FAKE_DIE_ON_READS", "1")
    (tmp_path / "secret-engine-dir").mkdir()
    script = write_fake_exiftool(tmp_path / "secret-engine-dir", "exiftool")
    pool = ExifToolPool(sys.executable, script, size=1, timeout=10.0)
    pool.start(13.50)
    overrides = stack.client.app.dependency_overrides  # type: ignore[attr-defined]
    overrides[engine_pool] = lambda: pool
    yield script
    overrides.pop(engine_pool, None)
    pool.close()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_engine_failure_is_500_with_request_id_and_no_internals(
    stack: V1Stack, jpeg: Path, dying_engine: Path, endpoint: str
) -> None:
    r = upload(stack.client, jpeg, key=stack.user.key, endpoint=endpoint)
    _error(r, 500)
    body = r.json()
    assert body["requestId"] == r.headers["x-request-id"]
    for secret in ("secret-engine-dir", str(dying_engine), "/tmp", "Traceback", "exs-"):
        assert secret not in r.text


def test_unexpected_fault_is_500_with_the_generic_message(
    stack: V1Stack, jpeg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.services import extract

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("/var/task/secret.py exploded")

    monkeypatch.setattr(extract, "read_metadata", broken)
    r = upload(stack.client, jpeg, key=stack.user.key)
    assert _error(r, 500) == "An error occurred while processing your request"
    assert "secret" not in r.text


def test_service_errors_all_have_a_v1_status() -> None:
    from exif_service.api.v1.errors import STATUS
    from exif_service.domain import errors

    leaves = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, ServiceError)
    ]
    for cls in leaves:
        if cls is ServiceError:
            continue
        assert any(issubclass(cls, known) for known in STATUS), cls
