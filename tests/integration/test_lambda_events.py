"""The v1 remove/download, admin and web functions invoked through API Gateway HTTP API
events, configured as template.yaml deploys them (downloads as presigned redirects)."""

from __future__ import annotations

import base64
import importlib
from pathlib import Path

import pytest
import requests
from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import LambdaContext, invoke

from exif_service.settings import Settings, get_settings

BOUNDARY = "exsboundary4f2a"


def _multipart(data: bytes, name: str) -> str:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
            "\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return base64.b64encode(body).decode()


def test_remove_then_download_lambdas_redirect_to_a_presigned_url_of_the_clean_file(
    aws: Settings, pro_user: KeyedUser, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "true")
    get_settings.cache_clear()
    remove = load_event("v1_remove_upload.json")
    remove["headers"]["x-api-key"] = pro_user.key
    remove["body"] = _multipart(photo.read_bytes(), "holiday photo.jpg")

    status, body, _ = invoke("remove", remove)

    assert status == 200
    job_uuid = body["uuid"]
    assert body["downloadUrl"] == (
        f"https://abcdef1234.execute-api.us-east-1.amazonaws.com/download-cleaned/{job_uuid}"
    )
    download = load_event("v1_download.json")
    download["rawPath"] = download["requestContext"]["http"]["path"] = (
        f"/download-cleaned/{job_uuid}"
    )
    download["pathParameters"] = {"uuid": job_uuid}
    handler = importlib.import_module("exif_service.handlers.download").handler
    response = handler(download, LambdaContext())

    assert response["statusCode"] == 302
    location = response["headers"]["location"]
    assert "X-Amz-Signature=" in location
    cleaned = requests.get(location, timeout=30)
    assert cleaned.status_code == 200
    assert cleaned.content[:2] == b"\xff\xd8"
    assert b"Canon EOS R5" not in cleaned.content


def test_admin_lambda_answers_its_route_in_the_images_envelope(aws: Settings) -> None:
    status, body, _ = invoke("admin", load_event("admin_files.json"))

    assert status == 401
    assert body["ok"] is False


def test_web_lambda_serves_the_home_page_on_the_default_route(aws: Settings) -> None:
    handler = importlib.import_module("exif_service.handlers.web").handler
    response = handler(load_event("web_home.json"), LambdaContext())

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert "<html" in response["body"].lower()


def test_a_body_over_the_lambda_request_cap_gets_413_naming_the_presigned_upload(
    aws: Settings, pro_user: KeyedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from exif_service.api.app import create_app
    from exif_service.api.v1.router import extract_router

    monkeypatch.setenv("EXIF_SERVICE_MAX_REQUEST_BYTES", str(1024 * 1024))
    get_settings.cache_clear()
    client = TestClient(create_app(extract_router))

    r = client.post(
        "/api/v1/extract",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("big.jpg", b"\xff\xd8" + b"\0" * (2 * 1024 * 1024))},
    )

    assert r.status_code == 413
    assert r.json() == {
        "success": False,
        "error": "File too large: the limit is 1 MB. Send larger files with POST /api/v1/uploads.",
    }
