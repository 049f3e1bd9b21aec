"""The v1 Lambda handlers invoked with API Gateway HTTP API (payload 2.0) events under moto."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import load_event
from tests.support.lambdas import invoke
from tests.support.v1 import V1Stack, v1_stack

from exif_service.settings import get_settings


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


BOUNDARY = "exsboundary4f2a"


def _multipart_event(name: str, data: bytes, key: str | None, file_name: str) -> dict[str, Any]:
    event = load_event(name)
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"'
            "\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    if key is None:
        event["headers"].pop("x-api-key", None)
    else:
        event["headers"]["x-api-key"] = key
    return event


def _get_event(name: str, path: str, job_uuid: str) -> dict[str, Any]:
    event = load_event(name)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"uuid": job_uuid}
    return event


def test_extract_lambda_reads_a_base64_multipart_upload(stack: V1Stack, photo: Path) -> None:
    event = _multipart_event("v1_extract_upload.json", photo.read_bytes(), stack.user.key, "r5.jpg")
    status, body, response = invoke("extract", event)
    assert status == 200, body
    assert body["success"] is True
    assert body["fileName"] == "r5.jpg"
    assert body["metadata"]["exif"]["Model"] == "Canon EOS R5"
    assert body["metadata"]["File"]["Size"] == photo.stat().st_size
    assert response["isBase64Encoded"] is False
    assert response["headers"]["content-type"] == "application/json"


def test_extract_lambda_serves_the_lookup_route_too(stack: V1Stack, photo: Path) -> None:
    event = _multipart_event("v1_extract_upload.json", photo.read_bytes(), stack.user.key, "a.jpg")
    _, posted, _ = invoke("extract", event)
    uuid = posted["uuid"]
    status, body, _ = invoke(
        "extract", _get_event("v1_extract_lookup.json", f"/api/v1/extract/{uuid}", uuid)
    )
    assert status == 200
    assert body["metadata"] == posted["metadata"]
    missing = "00000000-0000-4000-8000-000000000000"
    status, body, _ = invoke(
        "extract", _get_event("v1_extract_lookup.json", f"/api/v1/extract/{missing}", missing)
    )
    assert (status, body) == (
        404,
        {"success": False, "error": "No extraction found with the given UUID."},
    )


def test_extract_lambda_without_a_key_is_401_in_the_v1_envelope(
    stack: V1Stack, photo: Path
) -> None:
    event = _multipart_event("v1_extract_upload.json", photo.read_bytes(), None, "a.jpg")
    status, body, _ = invoke("extract", event)
    assert (status, body) == (401, {"success": False, "error": "Invalid API key"})


def test_extract_lambda_refuses_a_text_file_with_415(stack: V1Stack) -> None:
    event = _multipart_event("v1_extract_upload.json", b"plain words\n", stack.user.key, "x.jpg")
    status, body, _ = invoke("extract", event)
    assert status == 415
    assert body["success"] is False


def test_extract_lambda_json_url_body_checks_the_address(stack: V1Stack) -> None:
    event = load_event("v1_extract_url.json")
    event["headers"]["x-api-key"] = stack.user.key
    event["body"] = json.dumps({"url": "http://169.254.169.254/latest/meta-data/"})
    status, body, response = invoke("extract", event)
    assert status == 400
    assert "private" in body["error"]
    assert response["headers"]["x-request-id"] == "JjJ2dhY5IAMEVxQ="


def test_remove_then_download_lambda_returns_base64_binary_under_the_callers_name(
    stack: V1Stack, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "false")
    get_settings.cache_clear()
    event = _multipart_event("v1_remove_upload.json", photo.read_bytes(), stack.user.key, "ø b.jpg")
    status, body, _ = invoke("remove", event)
    assert status == 200, body
    uuid = body["uuid"]
    assert body["downloadUrl"].startswith("https://abcdef1234.execute-api.us-east-1.amazonaws.com/")

    from tests.support.lambdas import LambdaContext

    from exif_service.handlers.download import handler

    response = handler(
        _get_event("v1_download.json", f"/download-cleaned/{uuid}", uuid), LambdaContext()
    )
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    data = base64.b64decode(response["body"])
    assert data[:2] == b"\xff\xd8"
    assert b"Canon" not in data
    assert response["headers"]["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''%C3%B8%20b.jpg" in response["headers"]["content-disposition"]


def test_warm_invocations_reuse_the_same_exiftool_processes(stack: V1Stack, photo: Path) -> None:
    from exif_service.engine.exiftool import get_pool

    event = _multipart_event("v1_extract_upload.json", photo.read_bytes(), stack.user.key, "a.jpg")
    invoke("extract", event)
    before = get_pool().pids()
    for _ in range(3):
        assert invoke("extract", event)[0] == 200
    assert get_pool().pids() == before
