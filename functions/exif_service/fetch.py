"""SSRF-safe download of a caller's URL: the one place the server fetches from the internet.

The host is resolved once, every address it resolves to must be public, and the connection is
made to that checked address (the Host header and TLS SNI keep the original name), so a DNS
answer cannot change between the check and the connection. Redirects are followed by hand, each
one checked the same way, and the body is counted as it streams.

httpx is imported on the first URL, not with this module: a function that is only sent files
(the extract function's usual request) never loads it at cold start.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

from exif_service.domain.errors import FetchFailed, FileTooLarge, UnsafeUrl
from exif_service.settings import Settings

if TYPE_CHECKING:
    import httpx

_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_URL = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Special-purpose ranges some Python versions still call global.
_ALSO_BLOCKED = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("0.0.0.0/8"))


@dataclass(frozen=True)
class Downloaded:
    file_name: str
    size: int
    content_type: str | None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (IPv4-mapped forms unwrapped)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public_address(mapped)
        if address.teredo is not None:
            return False
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _ALSO_BLOCKED):
        return False
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_link_local
        and not address.is_loopback
        and not address.is_private
        and not address.is_unspecified
    )


def check_url(url: str, settings: Settings) -> tuple[httpx.URL, str, IPAddress]:
    """Validate a URL and resolve its host to one checked address."""
    if not isinstance(url, str) or not url.strip() or len(url) > _MAX_URL:
        raise UnsafeUrl("The url must be an absolute http or https URL.")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise UnsafeUrl("The url must be an absolute http or https URL.")
    if parts.username or parts.password:
        raise UnsafeUrl("The url may not contain a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("The url has an invalid port.") from exc
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"The host of the url could not be resolved: {host[:100]}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchFailed(f"The host of the url could not be resolved: {host[:100]}")
    if not settings.allow_private_urls and not all(is_public_address(a) for a in addresses):
        raise UnsafeUrl("The url points to a private or reserved address, which is not allowed.")
    import httpx  # on the first URL only (see the module docstring)

    return httpx.URL(url.strip()), host, addresses[0]


def download(
    url: str, dest: Path, settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> Downloaded:
    """Download `url` into `dest`, following at most N checked redirects, capped in size.

    `transport` lets a test stand in for the remote server; the address checks still run.
    """
    import httpx  # on the first URL only (see the module docstring)

    limit = settings.max_upload_bytes
    timeout = httpx.Timeout(settings.fetch_read_timeout_s, connect=settings.fetch_connect_timeout_s)
    current = url
    with httpx.Client(
        timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
    ) as client:
        for _ in range(settings.fetch_max_redirects + 1):
            target, host, address = check_url(current, settings)
            pinned = target.copy_with(host=str(address))
            headers = {"Host": target.netloc.decode("ascii"), "User-Agent": "exif-service/1.0"}
            request = client.build_request("GET", pinned, headers=headers)
            if target.scheme == "https":
                request.extensions["sni_hostname"] = host
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise FetchFailed("The url did not answer in time.") from exc
            except httpx.HTTPError as exc:
                raise FetchFailed("The url could not be downloaded.") from exc
            try:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed("The url redirected without a location.")
                    current = urljoin(str(target), location)
                    continue
                if response.status_code != 200:
                    raise FetchFailed(f"The url answered with HTTP status {response.status_code}.")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise FileTooLarge(_too_large(limit))
                size = _stream_to(response, dest, limit)
                return Downloaded(
                    file_name=_name_from(target),
                    size=size,
                    content_type=response.headers.get("content-type"),
                )
            finally:
                response.close()
    raise FetchFailed(f"The url redirected more than {settings.fetch_max_redirects} times.")


def _stream_to(response: httpx.Response, dest: Path, limit: int) -> int:
    import httpx  # already loaded by download()

    size = 0
    try:
        with dest.open("wb") as out:
            for chunk in response.iter_bytes(65536):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(_too_large(limit))
                out.write(chunk)
    except httpx.TimeoutException as exc:
        raise FetchFailed("The url stopped sending data in time.") from exc
    except httpx.HTTPError as exc:
        raise FetchFailed("The download from the url failed.") from exc
    if size == 0:
        raise FetchFailed("The url returned an empty file.")
    return size


def _name_from(url: httpx.URL) -> str:
    name = unquote(url.path.rsplit("/", 1)[-1])
    return name[:255] or "download"


def _too_large(limit: int) -> str:
    return f"File too large: the limit is {limit // (1024 * 1024)} MB."
