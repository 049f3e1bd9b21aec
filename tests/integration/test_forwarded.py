"""The public viewer's per-address allowance counts real client addresses: X-Forwarded-For is
believed only from a configured proxy locally, and on AWS the address is API Gateway's."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import load_event
from tests.support.lambdas import invoke
from tests.support.media import make_photo
from tests.support.server import serve

from exif_service.settings import Settings, get_settings

LIMIT = 2
_LIMITED = {
    "EXIF_SERVICE_PUBLIC_DAILY_LIMIT_PER_IP": str(LIMIT),
    "EXIF_SERVICE_RUN_SCHEDULES": "false",
}


def _view(http: httpx.Client, photo: Path, forwarded_for: str) -> httpx.Response:
    files = {"file": ("p.jpg", photo.read_bytes(), "image/jpeg")}
    return http.post(
        "/api/images/view-exif", files=files, headers={"X-Forwarded-For": forwarded_for}
    )


@pytest.mark.slow
def test_spoofed_forwarded_for_does_not_multiply_the_viewer_allowance(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "p.jpg")
    with serve(tmp_path / "data", tmp_path / "server.log", **_LIMITED) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            answers = [_view(http, photo, f"203.0.113.{i}") for i in range(LIMIT + 3)]
    assert [r.status_code for r in answers[:LIMIT]] == [200] * LIMIT
    assert answers[0].json()["metadata"]["Model"] == "Canon EOS R5"
    # every address was made up by the same client: it gets one allowance, not five
    assert {r.status_code for r in answers[LIMIT:]} == {429}
    assert answers[-1].json()["ok"] is False


@pytest.mark.slow
def test_a_configured_proxys_forwarded_for_is_the_client_address(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "p.jpg")
    trusted = {**_LIMITED, "EXIF_SERVICE_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with serve(tmp_path / "data", tmp_path / "server.log", **trusted) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            first = [_view(http, photo, "198.51.100.1") for _ in range(LIMIT + 1)]
            second = _view(http, photo, "198.51.100.2")
    assert [r.status_code for r in first] == [200] * LIMIT + [429]
    assert second.status_code == 200  # another client behind the proxy has its own allowance


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_DAILY_LIMIT_PER_IP", str(LIMIT))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _http_api_event(source_ip: str, forwarded_for: str) -> dict[str, Any]:
    event = load_event("images_view_exif.json")
    event["requestContext"]["http"]["sourceIp"] = source_ip
    event["headers"]["x-forwarded-for"] = forwarded_for
    return event


def _rest_api_event(source_ip: str, forwarded_for: str) -> dict[str, Any]:
    """The same request as an API Gateway REST API (payload 1.0) event."""
    v2 = load_event("images_view_exif.json")
    headers = {**v2["headers"], "x-forwarded-for": forwarded_for}
    return {
        "resource": "/{proxy+}",
        "path": v2["rawPath"],
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": v2["rawPath"].lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            **copy.deepcopy({k: v for k, v in v2["requestContext"].items() if k != "http"}),
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "path": v2["rawPath"],
            "identity": {"sourceIp": source_ip, "userAgent": "curl/8.5.0"},
        },
        "body": v2["body"],
        "isBase64Encoded": True,
    }


@pytest.mark.parametrize(
    "make_event", [_http_api_event, _rest_api_event], ids=["http-api", "rest-api"]
)
def test_on_aws_the_allowance_follows_api_gateways_source_ip(
    limited: None, aws: Settings, make_event: Any
) -> None:
    statuses = [
        invoke("images", make_event("198.51.100.7", f"192.0.2.{i}"))[0] for i in range(LIMIT + 2)
    ]
    assert statuses == [200] * LIMIT + [429, 429]  # a changing X-Forwarded-For changes nothing
    status, body, _ = invoke("images", make_event("198.51.100.8", "192.0.2.1"))
    assert status == 200 and body["metadata"]["Make"] == "Canon"
