"""URL fetching is a server-side request: only public addresses, checked at every hop.

Name resolution is replaced by a table (no DNS here) and the remote server by an
`httpx.MockTransport`, which also shows where the connection was really made.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from exif_service.domain.errors import FetchFailed, FileTooLarge, UnsafeUrl
from exif_service.fetch import check_url, download
from exif_service.settings import Settings

PUBLIC = "93.184.216.34"
real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> addresses; numeric hosts still go through the system resolver."""
    table: dict[str, list[str]] = {}

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in table:
            family = socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]
        # numeric spellings (0x7f000001, 0177.0.0.1, ::1) are parsed locally, never looked up
        return real_getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return table


@pytest.fixture
def settings() -> Settings:
    return Settings(allow_private_urls=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1/x.jpg",
        "http://0x7f000001/x.jpg",
        "http://2130706433/x.jpg",
        "http://0177.0.0.1/x.jpg",
        "http://127.1/x.jpg",
        "http://0/x.jpg",
        "http://[::1]/x.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://[::ffff:a9fe:a9fe]/x.jpg",
        "http://[fd00:ec2::254]/x.jpg",
        "http://[2002:7f00:1::]/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://192.168.1.1/x.jpg",
        "http://172.16.0.1/x.jpg",
        "http://100.64.0.1/x.jpg",
        "http://224.0.0.1/x.jpg",
        "http://[fe80::1]/x.jpg",
        "http://192.0.0.8/x.jpg",
    ],
)
def test_private_reserved_and_odd_ip_spellings_are_refused(
    dns: dict[str, list[str]], settings: Settings, url: str
) -> None:
    with pytest.raises(UnsafeUrl, match="private or reserved"):
        check_url(url, settings)


def test_localhost_is_refused(dns: dict[str, list[str]], settings: Settings) -> None:
    dns["localhost"] = ["127.0.0.1"]
    with pytest.raises(UnsafeUrl):
        check_url("http://localhost:8000/x.jpg", settings)


def test_public_looking_name_that_resolves_to_loopback_is_refused(
    dns: dict[str, list[str]], settings: Settings
) -> None:
    dns["images.example.com"] = ["127.0.0.1"]
    with pytest.raises(UnsafeUrl):
        check_url("https://images.example.com/cat.jpg", settings)


def test_name_with_one_private_address_among_public_ones_is_refused(
    dns: dict[str, list[str]], settings: Settings
) -> None:
    dns["mixed.example.com"] = [PUBLIC, "10.1.2.3"]
    with pytest.raises(UnsafeUrl):
        check_url("https://mixed.example.com/cat.jpg", settings)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x.jpg",
        "file:///etc/passwd",
        "gopher://x/",
        "javascript:alert(1)",
        "//example.com/x.jpg",
        "example.com/x.jpg",
        "",
        "   ",
        "http://",
        "http://:80/",
    ],
)
def test_only_absolute_http_and_https_urls_are_accepted(
    dns: dict[str, list[str]], settings: Settings, url: str
) -> None:
    with pytest.raises(UnsafeUrl, match="http or https"):
        check_url(url, settings)


def test_credentials_in_the_url_are_refused(dns: dict[str, list[str]], settings: Settings) -> None:
    dns["example.com"] = [PUBLIC]
    with pytest.raises(UnsafeUrl, match="user name or password"):
        check_url("http://user:pw@example.com/x.jpg", settings)


def test_unresolvable_host_is_a_clear_fetch_error(
    dns: dict[str, list[str]], settings: Settings
) -> None:
    with pytest.raises(FetchFailed, match="could not be resolved"):
        check_url("http://no-such-host.invalid/x.jpg", settings)


def test_public_name_resolves_to_its_checked_address(
    dns: dict[str, list[str]], settings: Settings
) -> None:
    dns["images.example.com"] = [PUBLIC]
    _, host, address = check_url("https://images.example.com/cat.jpg", settings)
    assert (host, str(address)) == ("images.example.com", PUBLIC)


def test_private_addresses_allowed_only_when_configured(dns: dict[str, list[str]]) -> None:
    _, _, address = check_url("http://127.0.0.1/x", Settings(allow_private_urls=True))
    assert str(address) == "127.0.0.1"


Handler = Callable[[httpx.Request], httpx.Response]


def _fetch(url: str, tmp_path: Path, settings: Settings, handler: Handler) -> Path:
    dest = tmp_path / "download.tmp"
    download(url, dest, settings, transport=httpx.MockTransport(handler))
    return dest


def test_connection_goes_to_the_checked_address_with_the_original_host_header(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"JPEGDATA")

    dest = _fetch("https://images.example.com/a/cat.jpg?x=1", tmp_path, settings, server)
    assert dest.read_bytes() == b"JPEGDATA"
    assert seen[0].url.host == PUBLIC
    assert seen[0].headers["host"] == "images.example.com"
    assert seen[0].extensions["sni_hostname"] == "images.example.com"


def test_downloaded_file_name_comes_from_the_url_path(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    got = download(
        "https://images.example.com/a/my%20cat.jpg",
        tmp_path / "d",
        settings,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x")),
    )
    assert (got.file_name, got.size) == ("my cat.jpg", 1)


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/secret.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://internal.example.com/x.jpg",
    ],
)
def test_redirect_to_a_private_address_is_refused(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path, location: str
) -> None:
    dns["images.example.com"] = [PUBLIC]
    dns["internal.example.com"] = ["10.0.0.5"]
    requested: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(302, headers={"location": location})

    with pytest.raises(UnsafeUrl):
        _fetch("https://images.example.com/cat.jpg", tmp_path, settings, server)
    assert len(requested) == 1  # the private target was never contacted


def test_five_redirects_are_followed(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]

    def server(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.strip("/") or 0)
        if hop < 5:
            return httpx.Response(302, headers={"location": f"/{hop + 1}"})
        return httpx.Response(200, content=b"done")

    assert _fetch("http://images.example.com/0", tmp_path, settings, server).read_bytes() == b"done"


def test_more_than_five_redirects_are_refused(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    hops: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        hops.append(request.url.path)
        return httpx.Response(302, headers={"location": f"/{len(hops)}"})

    with pytest.raises(FetchFailed, match="more than 5"):
        _fetch("http://images.example.com/0", tmp_path, settings, server)
    assert len(hops) == 6


def test_body_over_the_limit_is_cut_off_while_streaming(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    sent = 0

    def chunks() -> Any:
        nonlocal sent
        while sent < 100 * 1024 * 1024:
            sent += 1024 * 1024
            yield b"\0" * (1024 * 1024)

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # no Content-Length: it must be counted

    with pytest.raises(FileTooLarge, match="25 MB"):
        _fetch("http://images.example.com/big.jpg", tmp_path, settings, server)
    assert sent < 30 * 1024 * 1024


def test_declared_length_over_the_limit_is_refused_before_reading(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": str(26 * 1024 * 1024)}, content=b"")

    with pytest.raises(FileTooLarge):
        _fetch("http://images.example.com/big.jpg", tmp_path, settings, server)


@pytest.mark.parametrize("status", [404, 500, 403])
def test_error_status_is_reported(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path, status: int
) -> None:
    dns["images.example.com"] = [PUBLIC]
    with pytest.raises(FetchFailed, match=str(status)):
        _fetch(
            "http://images.example.com/x.jpg", tmp_path, settings, lambda r: httpx.Response(status)
        )


def test_empty_body_is_reported(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    with pytest.raises(FetchFailed, match="empty"):
        _fetch(
            "http://images.example.com/x.jpg",
            tmp_path,
            settings,
            lambda r: httpx.Response(200, content=b""),
        )


def test_redirect_without_location_is_reported(
    dns: dict[str, list[str]], settings: Settings, tmp_path: Path
) -> None:
    dns["images.example.com"] = [PUBLIC]
    with pytest.raises(FetchFailed, match="location"):
        _fetch("http://images.example.com/x.jpg", tmp_path, settings, lambda r: httpx.Response(302))
