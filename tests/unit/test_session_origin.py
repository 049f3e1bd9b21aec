"""The CSRF origin rule and email validation, on plain requests (no AWS, no server)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from exif_service.api.images.session import is_https, require_same_origin
from exif_service.domain.errors import BadRequest, Forbidden
from exif_service.services.accounts import valid_email
from exif_service.settings import get_settings


def _request(headers: dict[str, str], scheme: str = "http", method: str = "POST") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "method": method,
        "scheme": scheme,
        "path": "/api/keys",
        "headers": raw,
        "query_string": b"",
        "server": ("api.example.com", 443),
    }
    return Request(scope)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "api.example.com", "Origin": "https://api.example.com"},
        {"Host": "api.example.com", "Origin": "https://API.example.com:443"},
        {"Host": "api.example.com:8443", "Origin": "https://api.example.com:8443"},
        {"Host": "localhost:8000", "Origin": "http://localhost:8000"},
        {"Host": "[::1]:8000", "Origin": "http://[::1]:8000"},
        {"Host": "api.example.com", "Referer": "https://api.example.com/dashboard?x=1"},
        {"Host": "api.example.com"},
    ],
)
def test_own_origin_or_no_browser_headers_pass(headers: dict[str, str]) -> None:
    require_same_origin(_request(headers))


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "api.example.com", "Origin": "https://evil.example"},
        {"Host": "api.example.com", "Origin": "null"},
        {"Host": "api.example.com", "Origin": "https://api.example.com.evil.example"},
        {"Host": "api.example.com", "Origin": "https://api.example.com:444"},
        {"Host": "api.example.com", "Origin": "file://api.example.com"},
        {"Host": "api.example.com", "Origin": "https://api.example.com:99999"},
        {"Host": "api.example.com", "Referer": "https://evil.example/api.example.com"},
        {"Host": "localhost:8000", "Origin": "http://localhost:8001"},
    ],
)
def test_foreign_origins_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        require_same_origin(_request(headers))


def test_public_base_url_and_allowed_origins_are_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_BASE_URL", "https://exif.example.org/")
    monkeypatch.setenv("EXIF_SERVICE_ALLOWED_ORIGINS", " https://app.example.net ,")
    get_settings.cache_clear()
    for origin in ("https://exif.example.org", "https://app.example.net"):
        require_same_origin(_request({"Host": "internal:8000", "Origin": origin}))
    with pytest.raises(Forbidden):
        require_same_origin(_request({"Host": "internal:8000", "Origin": "https://x.example"}))


@pytest.mark.parametrize(
    ("headers", "scheme", "expected"),
    [
        ({}, "http", False),
        ({}, "https", True),
        # the header alone is anyone's to send: the transport (Mangum, or uvicorn for a
        # configured proxy) turns a trusted one into the scheme
        ({"X-Forwarded-Proto": "https"}, "http", False),
        ({"X-Forwarded-Proto": "http"}, "https", True),
        ({"X-Forwarded-Proto": "gopher"}, "http", False),
    ],
)
def test_https_is_the_scheme_the_transport_established(
    headers: dict[str, str], scheme: str, expected: bool
) -> None:
    assert is_https(_request(headers, scheme=scheme)) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane@Example.COM ", "jane@example.com"),
        ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
    ],
)
def test_valid_emails_are_normalised(raw: str, expected: str) -> None:
    assert valid_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plain",
        "a@b",
        "a@@b.com",
        "a b@c.com",
        "a@b..com",
        "a@.com",
        None,
        5,
        "x" * 250 + "@e.com",
    ],
)
def test_invalid_emails_are_400(raw: object) -> None:
    with pytest.raises(BadRequest):
        valid_email(raw)
