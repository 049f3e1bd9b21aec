"""Signed result callbacks: POST a finished job to the caller's URL, retried with backoff.

The signature works like payment-provider webhooks:
`X-Exif-Service-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`, keyed with
the deployment's callback secret, so a receiver can check both the sender and the freshness.
The URL is checked and pinned exactly like a URL the service downloads (fetch.check_url), on
every attempt, so a DNS change cannot turn a callback into a request to a private address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from exif_service import fetch
from exif_service.domain.errors import FetchFailed, UnsafeUrl
from exif_service.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Exif-Service-Signature"
_RETRYABLE = {408, 425, 429}


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(body: bytes, header: str, secret: str, now: float, tolerance_s: int = 300) -> bool:
    """What a receiver does: the signature matches and is at most `tolerance_s` old."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    fresh = abs(now - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


def deliver(
    url: str,
    payload: dict[str, Any],
    settings: Settings,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST `payload` to `url`, retrying failures with exponential backoff; True once accepted."""
    if settings.callback_secret is None:
        log.warning("callback skipped: no callback secret is configured")
        return False
    secret = settings.callback_secret.get_secret_value()
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for attempt in range(settings.callback_attempts):
        if attempt:
            sleep(settings.callback_backoff_s * 2 ** (attempt - 1))
        try:
            status = _post(url, body, secret, settings)
        except UnsafeUrl:
            log.warning("callback refused: the url now points to a non-public address")
            return False
        except (FetchFailed, httpx.HTTPError) as exc:
            log.info("callback attempt %d failed: %s", attempt + 1, type(exc).__name__)
            continue
        if 200 <= status < 300:
            return True
        log.info("callback attempt %d answered HTTP %d", attempt + 1, status)
        if status < 500 and status not in _RETRYABLE:
            return False
    return False


def _post(url: str, body: bytes, secret: str, settings: Settings) -> int:
    target, host, address = fetch.check_url(url, settings)
    pinned = target.copy_with(host=str(address))
    headers = {
        "Host": target.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": "exif-service/1.0",
        SIGNATURE_HEADER: sign(body, secret, int(time.time())),
    }
    timeout = httpx.Timeout(settings.callback_timeout_s, connect=settings.fetch_connect_timeout_s)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", pinned, headers=headers, content=body)
        if target.scheme == "https":
            request.extensions["sni_hostname"] = host
        return client.send(request).status_code
