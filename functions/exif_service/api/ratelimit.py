"""Rate-limit headers: the daily allowance the request's charge left, on success and on 429.

The count comes from the charge itself (the counter's conditional update answers with the new
value), collected by `services.quota.metered()` around the request; a request that charges
nothing carries no rate-limit headers, since learning the count would cost a read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exif_service.api.errors import Surfaces
from exif_service.domain.ratelimit import DAY_SECONDS, Allowance, seconds_until_reset
from exif_service.services.quota import metered

# The ImageKit-compatible surface keeps that product's units: times in milliseconds, and the
# window length in X-RateLimit-Interval.
_MILLISECOND_SURFACES = frozenset({"imagekit"})


class RateLimitHeadersMiddleware:
    """Add X-RateLimit-Limit, -Remaining, -Reset (and Retry-After on 429) after a charge."""

    def __init__(self, app: ASGIApp, surfaces: Surfaces) -> None:
        self.app = app
        self.surfaces = surfaces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        surface = self.surfaces.for_path(str(scope.get("path", "")))
        in_ms = surface is not None and surface.name in _MILLISECOND_SURFACES

        with metered() as meter:

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start" and meter.last is not None:
                    headers = list(message.get("headers", []))
                    names = {name.lower() for name, _ in headers}
                    extra = rate_limit_headers(meter.last, int(message["status"]), in_ms=in_ms)
                    # a surface that already set one (ImageKit's 429) keeps its own
                    headers += [(n, v) for n, v in extra if n not in names]
                    message["headers"] = headers
                await send(message)

            await self.app(scope, receive, send_with_headers)


def rate_limit_headers(
    allowance: Allowance, status: int, *, in_ms: bool = False, now: datetime | None = None
) -> list[tuple[bytes, bytes]]:
    """The headers for `allowance`; Reset in seconds to 00:00 UTC (milliseconds if `in_ms`)."""
    reset = seconds_until_reset(now or datetime.now(UTC))
    headers = [
        (b"x-ratelimit-limit", str(allowance.limit).encode()),
        (b"x-ratelimit-remaining", str(allowance.remaining).encode()),
    ]
    if in_ms:
        headers.append((b"x-ratelimit-reset", str(int(reset * 1000)).encode()))
        headers.append((b"x-ratelimit-interval", str(DAY_SECONDS * 1000).encode()))
    else:
        headers.append((b"x-ratelimit-reset", str(math.ceil(reset)).encode()))
    if status == 429:
        headers.append((b"retry-after", str(max(math.ceil(reset), 1)).encode()))
    return headers
