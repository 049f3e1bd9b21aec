"""`Idempotency-Key` on the POSTs that charge or create: a retry gets the first answer.

A pure ASGI middleware, so the routes stay as they are. Only a request that carries the header
on a covered path is touched: its body is spooled to disk while a sha256 fingerprint of the
request is taken, the key is claimed for the caller (`services/idempotency.py`), the spooled
body is handed to the app, and the answer is passed on to the client while a copy is kept for
the retries. Every other request goes straight through, unbuffered and without a store call.

The fingerprint covers the method, the path, the query string and the body. A multipart body
is fingerprinted part by part (each part's headers and content), without its boundary: clients
pick a new random boundary for every request, retries included.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exif_service.api.auth import basic_key, bearer_key, v1_key
from exif_service.api.errors import Surfaces
from exif_service.api.images.session import session_token
from exif_service.domain.errors import (
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    ServiceError,
    Unauthorized,
)
from exif_service.domain.idempotency import MAX_KEY_LENGTH, StoredResponse, valid_key
from exif_service.services import idempotency
from exif_service.services.accounts import account_for_token, key_owner

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
REPLAYED_HEADER = b"idempotent-replayed"
# The POSTs that charge an image or create something; on other paths the header is ignored.
COVERED_PREFIXES = (
    "/api/v1/extract",
    "/api/v1/remove",
    "/api/v1/privacy",
    "/api/v1/uploads",
    "/api/v1/files/upload",
    "/api/images/",
)
COVERED_PATHS = frozenset({"/api/keys"})
# Per-request or per-moment headers are not part of the kept answer; the rate-limit headers
# belong to the request that was charged, and a replay charges nothing.
_NOT_KEPT = frozenset(
    {
        "date",
        "server",
        "set-cookie",
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-interval",
        "retry-after",
    }
)
_SPOOL_IN_MEMORY = 1024 * 1024
_CHUNK = 64 * 1024
_IN_USE_RETRY_AFTER = b"1"

Clock = Callable[[], float]


def covered(method: str, path: str) -> bool:
    """Whether `Idempotency-Key` applies to this request."""
    return method == "POST" and (path.startswith(COVERED_PREFIXES) or path in COVERED_PATHS)


class IdempotencyMiddleware:
    """Answer a retried `Idempotency-Key` request with the first answer, charging nothing.

    The clock (epoch seconds) is `app.state.idempotency_clock` when an app sets one (tests move
    it past the 24 hours), else the system clock.
    """

    def __init__(self, app: ASGIApp, surfaces: Surfaces) -> None:
        self.app = app
        self.surfaces = surfaces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covered(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        raw_key = _header(scope, HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not valid_key(key):
            await self._error(
                scope,
                send,
                400,
                BadRequest(
                    f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
                ),
            )
            return
        try:
            caller = await anyio.to_thread.run_sync(_caller, Request(scope))
        except ServiceError as exc:  # the store is unavailable
            await self._error(scope, send, self._status(scope, exc), exc)
            return
        if caller is None:
            # anonymous (or not authenticated: the route answers that): keys are not scoped
            # to an address, so the request runs as if the header were absent
            await self.app(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as body:
            fingerprint = await _spool(scope, receive, body)
            if fingerprint is None:
                return  # the client went away before sending its body
            now = _clock(scope)()
            try:
                outcome = await anyio.to_thread.run_sync(
                    idempotency.begin, caller, key, fingerprint, now
                )
            except idempotency.KeyReused as exc:
                await self._error(scope, send, 422, exc)
                return
            except idempotency.KeyInUse as exc:
                await self._error(scope, send, 409, exc, [(b"retry-after", _IN_USE_RETRY_AFTER)])
                return
            except ServiceError as exc:  # the store is unavailable: nothing ran, nothing kept
                await self._error(scope, send, self._status(scope, exc), exc)
                return
            if isinstance(outcome, StoredResponse):
                await self._replay(scope, send, outcome)
                return
            body.seek(0)
            await self._run(scope, _replaying(body, receive), send, outcome)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, claim: idempotency.Claim
    ) -> None:
        """Run the app, passing its answer on and keeping a copy; free the key if it fails."""
        status = 0
        headers: list[tuple[str, str]] = []
        size = 0
        with tempfile.NamedTemporaryFile(prefix="exs-idempotent-") as copy:

            async def keeping_send(message: Message) -> None:
                nonlocal status, headers, size
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    headers = [
                        (name, value.decode("latin-1"))
                        for name, value in (
                            (n.decode("latin-1").lower(), v) for n, v in message.get("headers", [])
                        )
                        if name not in _NOT_KEPT
                    ]
                elif message["type"] == "http.response.body":
                    chunk = message.get("body", b"")
                    copy.write(chunk)
                    size += len(chunk)
                await send(message)

            try:
                await self.app(_without_file_sends(scope), receive, keeping_send)
            except BaseException:
                await _quietly(idempotency.abandon, claim)
                raise
            if status == 0:
                await _quietly(idempotency.abandon, claim)
                return
            copy.flush()
            try:
                await anyio.to_thread.run_sync(
                    idempotency.finish, claim, status, headers, Path(copy.name), size
                )
            except Exception:
                # the client has its answer; a retry finds the claim pending and, once its
                # lease has run out, runs again
                log.exception("the answer to an Idempotency-Key request could not be kept")

    async def _replay(self, scope: Scope, send: Send, stored: StoredResponse) -> None:
        chunks = idempotency.body_of(stored)
        try:
            first = await anyio.to_thread.run_sync(next, chunks, b"")
        except NotFound:
            gone = Gone("The first answer to this Idempotency-Key is no longer stored.")
            await self._error(scope, send, 410, gone)
            return
        kept = await anyio.to_thread.run_sync(idempotency.headers_of, stored)
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in kept]
        headers.append((REPLAYED_HEADER, b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        chunk = first
        while True:
            following = await anyio.to_thread.run_sync(next, chunks, None)
            await send({"type": "http.response.body", "body": chunk, "more_body": bool(following)})
            if not following:
                return
            chunk = following

    def _status(self, scope: Scope, error: ServiceError) -> int:
        surface = self.surfaces.for_path(scope["path"])
        return surface.status_for(error) if surface else 500

    async def _error(
        self,
        scope: Scope,
        send: Send,
        status: int,
        error: ServiceError,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        rid = str(scope.get("state", {}).get("request_id", ""))
        response = self.surfaces.render(scope["path"], status, error, rid)
        for name, value in extra or []:
            response.headers[name.decode()] = value.decode()
        await response(scope, _nothing_to_receive, send)


def _caller(request: Request) -> str | None:
    """Whose key this is: the owner of the API key sent, else the signed-in user, else None."""
    for read in (bearer_key, basic_key, v1_key):
        raw = read(request)
        if raw is not None:
            try:
                return f"user#{key_owner(raw).user_id}"
            except (Unauthorized, Forbidden):
                return None  # the route refuses it in its own words
    found = account_for_token(session_token(request))
    return f"user#{found[0].user_id}" if found is not None else None


async def _spool(scope: Scope, receive: Receive, body: IO[bytes]) -> str | None:
    """Read the whole body into `body`; the request's fingerprint, or None on a disconnect."""
    fingerprint = _Fingerprint(scope)
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            body.write(chunk)
            fingerprint.update(chunk)
        more = bool(message.get("more_body", False))
    return fingerprint.hexdigest()


def _replaying(body: IO[bytes], receive: Receive) -> Receive:
    """A receive that hands the spooled body to the app, then waits on the real one."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = body.read(_CHUNK)
        more = bool(chunk) and body.tell() < _size(body)
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def _size(body: IO[bytes]) -> int:
    here = body.tell()
    end = body.seek(0, 2)
    body.seek(here)
    return end


class _Fingerprint:
    """sha256 over method, path, query and body; a multipart body part by part."""

    def __init__(self, scope: Scope) -> None:
        self._raw = hashlib.sha256()
        self._head = hashlib.sha256()
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        media, options = parse_options_header(content_type)
        for value in (scope["method"], scope["path"], scope.get("query_string", b"")):
            self._frame(self._head, value.encode() if isinstance(value, str) else value)
        self._parts: _Parts | None = None
        boundary = options.get(b"boundary")
        if media == b"multipart/form-data" and boundary:
            self._frame(self._head, media)
            self._parts = _Parts(boundary)
        else:
            self._frame(self._head, content_type.encode("latin-1"))

    @staticmethod
    def _frame(digest: Any, value: bytes) -> None:
        digest.update(len(value).to_bytes(8, "big"))
        digest.update(value)

    def update(self, chunk: bytes) -> None:
        self._raw.update(chunk)
        if self._parts is not None:
            self._parts.write(chunk)

    def hexdigest(self) -> str:
        body = self._parts.digest() if self._parts is not None else None
        self._frame(self._head, body if body is not None else self._raw.digest())
        return self._head.hexdigest()


class _Parts:
    """A multipart body's digest without its boundary: each part's headers, then content."""

    def __init__(self, boundary: bytes) -> None:
        self._digest = hashlib.sha256()
        self._part = hashlib.sha256()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: list[bytes] = []
        self._ended = False
        self._failed = False
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": lambda d, s, e: self._part.update(d[s:e]),
            "on_part_end": self._part_end,
            "on_end": self._end,
        }
        self._parser = MultipartParser(boundary, callbacks)

    def _begin(self) -> None:
        self._part = hashlib.sha256()
        self._headers = []

    def _header_end(self) -> None:
        self._headers.append(bytes(self._field).strip().lower() + b":" + bytes(self._value).strip())
        self._field.clear()
        self._value.clear()

    def _part_end(self) -> None:
        heads = b"\n".join(self._headers)
        self._digest.update(len(heads).to_bytes(8, "big") + heads + self._part.digest())

    def _end(self) -> None:
        self._ended = True

    def write(self, chunk: bytes) -> None:
        if self._failed:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # not well-formed: the raw bytes are the fingerprint then
            self._failed = True

    def digest(self) -> bytes | None:
        return self._digest.digest() if self._ended and not self._failed else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _clock(scope: Scope) -> Clock:
    app = scope.get("app")
    clock: Clock | None = getattr(getattr(app, "state", None), "idempotency_clock", None)
    return clock or time.time


def _without_file_sends(scope: Scope) -> Scope:
    """The scope without the server extensions that would send a file past our copy."""
    extensions = dict(scope.get("extensions") or {})
    extensions.pop("http.response.pathsend", None)
    extensions.pop("http.response.zerocopysend", None)
    return {**scope, "extensions": extensions}


async def _quietly(step: Callable[[idempotency.Claim], None], claim: idempotency.Claim) -> None:
    try:
        await anyio.to_thread.run_sync(step, claim)
    except Exception:
        log.exception("an Idempotency-Key claim could not be released")


async def _nothing_to_receive() -> Message:
    return {"type": "http.disconnect"}
