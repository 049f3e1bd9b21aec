"""How `exif-service serve` runs uvicorn: timeouts for slow clients, a connection cap, and
forwarded addresses believed only from configured proxies.

uvicorn times out idle keep-alive connections but not a request whose headers arrive a byte at
a time: `DeadlineH11Protocol` gives each request's headers a deadline and its body an idle
limit, and closes the connection when either passes; it also refuses a request head larger than
16 KB with a 431.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from exif_service.settings import Settings

# the largest request head (request line and headers) the server reads
MAX_HEADER_BYTES = 16 * 1024
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8"
    b"\r\nconnection: close\r\ncontent-length: 32\r\n\r\nRequest header fields too large."
)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline on request headers and an idle limit on bodies."""

    header_timeout_s = 10.0
    body_idle_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._head = bytearray()
        super().connection_made(transport)
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self._disarm()
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()
            return
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY and not self.flow.read_paused:
            self._arm(self.body_idle_timeout_s)  # body bytes arrived: the idle clock restarts
        elif self.conn.their_state is not h11.IDLE:
            self._disarm()  # the whole request is in; the app's time is not the client's

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self.header_timeout_s)  # the next request on this connection

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the request head now arriving passes MAX_HEADER_BYTES (h11's own limit only
        counts a head still incomplete after a read, so a large one sent at once got past it)."""
        self._head.extend(data)
        end = self._head.find(b"\r\n\r\n")
        size = len(self._head) if end < 0 else end + 4
        if end >= 0 or size > MAX_HEADER_BYTES:
            self._head.clear()  # complete (the body is not counted), or refused
        return size > MAX_HEADER_BYTES

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.SEND_BODY and self.flow.read_paused:
            self._arm(self.body_idle_timeout_s)  # the app is not reading: the client is not slow
            return
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.info("closing a connection whose request is too slow")
            self.transport.close()


def protocol_class(settings: Settings) -> type[DeadlineH11Protocol]:
    """`DeadlineH11Protocol` with the deadlines from settings."""
    return type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {
            "header_timeout_s": settings.local_header_timeout_s,
            "body_idle_timeout_s": settings.local_body_idle_timeout_s,
        },
    )


def server_config(
    app: Any, host: str, port: int, settings: Settings, **options: Any
) -> uvicorn.Config:
    """The uvicorn configuration of the local server."""
    forwarded = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_class(settings),
        # X-Forwarded-For is anyone's to write: believed only from the proxies named in settings
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or "",
        limit_concurrency=settings.local_max_connections,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        **options,
    )
