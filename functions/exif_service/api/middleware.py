"""ASGI middleware shared by every app: request ids and the request body size cap.

Starlette puts no limit on a request body, so the cap counts bytes as they arrive and answers
413 as soon as the limit is passed, whatever Content-Length claimed.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exif_service.api.errors import Surfaces
from exif_service.domain.errors import FileTooLarge

# Answers that carry a raw API key, the key list or a session must never be cached by a
# browser or a proxy.
_NO_STORE_PREFIXES = ("/api/keys", "/api/auth/")
# The HTML fragments the dashboard and admin pages fetch: inert markup, no script or styles of
# their own, never framed.
_FRAGMENT_CSP = b"default-src 'none'; frame-ancestors 'none'"


class RequestIdMiddleware:
    """Give each request an id (API Gateway's when there is one) and echo it in X-Request-ID.

    It also sets the headers every answer carries: `nosniff` everywhere, `no-store` on keys and
    sessions, a strict CSP on HTML fragments that set none.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid

        path = str(scope.get("path", ""))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", rid.encode("ascii")))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if path.startswith(_NO_STORE_PREFIXES):
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                if path.startswith("/api/") and b"content-security-policy" not in names:
                    html = [v for n, v in headers if n.lower() == b"content-type"]
                    if html and html[0].startswith(b"text/html"):
                        headers.append((b"content-security-policy", _FRAGMENT_CSP))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def _request_id(scope: Scope) -> str:
    event: Any = scope.get("aws.event") or {}
    context = event.get("requestContext") if isinstance(event, dict) else None
    rid = context.get("requestId") if isinstance(context, dict) else None
    return str(rid) if rid else uuid.uuid4().hex


class BodyLimitMiddleware:
    """Answer 413 in the surface's envelope once a request body passes `limit` bytes."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        surfaces: Surfaces,
        slack: int = 64 * 1024,
        hint: str = "",
    ) -> None:
        self.surfaces = surfaces
        self.app = app
        self.hint = hint  # where larger files can go instead, appended to the message
        # multipart framing adds a little around the file itself
        self.limit = limit + slack
        self.file_limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._reject(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise FileTooLarge(self._message)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except FileTooLarge:
            if not started:
                await self._reject(scope, send)

    @property
    def _message(self) -> str:
        return f"File too large: the limit is {self.file_limit // (1024 * 1024)} MB.{self.hint}"

    async def _reject(self, scope: Scope, send: Send) -> None:
        error = FileTooLarge(self._message)
        rid = str(scope.get("state", {}).get("request_id", ""))
        response = self.surfaces.render(scope.get("path", "/"), 413, error, rid)
        response.headers["connection"] = "close"
        await response(scope, _drain_nothing, send)


async def _drain_nothing() -> Message:
    return {"type": "http.disconnect"}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
