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


class RequestIdMiddleware:
    """Give each request an id (API Gateway's when there is one) and echo it in X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode("ascii")))
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
