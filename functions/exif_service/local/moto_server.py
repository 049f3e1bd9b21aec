"""moto's server as the local emulator runs it: kept-alive connections and no repeated lookups.

moto's own server (werkzeug's development server with moto's request handler) answers every
call with `Connection: close`, so each store call of the app paid a TCP connect, a new thread
and a 10 ms linger; and moto's dispatcher lists moto's package folders on disk and inspects the
response class's members on every request, though neither answer changes while it runs.

- `KeepAliveRequestHandler`: moto's request handler speaking HTTP/1.1 keep-alive. Each request's
  body is bounded by its Content-Length (or its chunked framing) and whatever the app left
  unread is drained, so the next request on the connection starts where it should. The bounded
  body is marked as ended by the server (`wsgi.input_terminated`), so werkzeug hands it to moto
  as it is and a read of all of it is one read of the socket (`ContentBody`), not 64 KB pieces
  joined: that read was most of the emulator's CPU for a camera-size S3 put.
- `EmulatorServer`: werkzeug's threaded server (one thread per connection, reused for every
  request on it) that counts the connections it accepted and closes the open ones when it
  closes, so no thread waits on an idle connection after a stop.
- `HostDispatcher`: moto's host-to-backend dispatcher, remembering the backend of each host.
- `memoise_method_names()`: the one patch of moto here (see its docstring).

What moto answers is unchanged: the same moto application handles every request.
"""

from __future__ import annotations

import functools
import io
import logging
import socket
import threading
from typing import IO, Any, cast

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer

log = logging.getLogger(__name__)

# An idle kept-alive connection is closed after this long; the client's pool reconnects.
IDLE_TIMEOUT_S = 300.0
_DRAIN_CHUNK = 1 << 16
_MAX_REMEMBERED_HOSTS = 256  # hosts come from requests: bound what a stray client can add
_BODYLESS = frozenset({204, 304})


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection open between requests (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # An answer's head and body leave in one write (flushed once per request) with Nagle off:
    # a kept-alive connection otherwise waits out the client's delayed ACK (40 ms) per call.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        self.environ = environ = self.make_environ()
        body = self._bounded_body(environ)
        if body is None:
            self._send_plain(400, b"Bad Content-Length")
            return
        environ["wsgi.input"] = body
        # the server ends the body (its length or its chunks): werkzeug reads it as it is
        environ["wsgi.input_terminated"] = True
        answer = _Answer(self, environ["REQUEST_METHOD"])
        try:
            result = self.server.app(environ, answer.start_response)
            try:
                for data in result:
                    answer.write(data)
                answer.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            _drain(body)
        except (ConnectionError, TimeoutError, ClientDisconnected):
            self.close_connection = True  # the client went away: nobody to answer
        except Exception:
            log.exception("emulator request failed: %s %s", self.command, self.path)
            if answer.sent:
                self.close_connection = True  # half an answer: only a close can end it
            else:
                self._send_plain(500, b"Internal Server Error")
        self.wfile.flush()

    def _bounded_body(self, environ: dict[str, Any]) -> Any:
        """The request body, readable only up to its end (None: a bad Content-Length)."""
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's dechunker ends it
            return environ["wsgi.input"]
        text = environ.get("CONTENT_LENGTH") or "0"
        if not (text.isascii() and text.isdigit()):  # int() would take "+5", "5_0", " 5"
            return None
        return ContentBody(cast(IO[bytes], self.rfile), int(text))

    def _send_plain(self, code: int, text: bytes) -> None:
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(text)
        self.wfile.flush()

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        if format.startswith("Request timed out"):
            return  # an idle kept-alive connection closing is not an error
        super().log_error(format, *args)


class ContentBody(io.RawIOBase):
    """A request body of a known length on a kept-alive connection: no read goes past its end,
    and a read of the rest is one read of the connection's buffered file (a single copy out of
    the socket). A client that goes away before sending all of it raises `ClientDisconnected`."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        super().__init__()
        self._stream = stream
        self.limit = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        remaining = self.limit - self._pos
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        try:
            data = self._stream.read(size)
        except (OSError, ValueError) as error:
            raise ClientDisconnected() from error
        self._pos += len(data)
        if len(data) < size:  # the connection ended inside the body
            raise ClientDisconnected()
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Answer:
    """One response, sent as the app produces it: sized by the app's Content-Length, or
    chunked, so the connection stays usable for the next request."""

    def __init__(self, handler: KeepAliveRequestHandler, method: str) -> None:
        self._handler = handler
        self._method = method
        self._status = ""
        self._headers: list[tuple[str, str]] = []
        self.sent = False
        self._chunked = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if exc_info is not None and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status, self._headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._send_head()
        if not data:
            return
        if self._chunked:
            self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self._handler.wfile.write(data)

    def finish(self) -> None:
        if not self.sent:
            self._send_head()
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")

    def _send_head(self) -> None:
        handler = self._handler
        code_text, _, reason = self._status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        names = set()
        for name, value in self._headers:
            handler.send_header(name, value)
            names.add(name.lower())
        sized = (
            "content-length" in names or self._method == "HEAD" or code < 200 or code in _BODYLESS
        )
        self._chunked = not sized and handler.request_version >= "HTTP/1.1"
        if self._chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        elif not sized:
            handler.close_connection = True  # an HTTP/1.0 client: the close ends the body
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True


def _drain(body: Any) -> None:
    """Read what the app left of the request body, so the next request starts after it."""
    while body.read(_DRAIN_CHUNK):
        pass


class EmulatorServer(ThreadedWSGIServer):
    """werkzeug's threaded WSGI server, one thread per kept-alive connection."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.accepted = 0  # connections accepted so far
        super().__init__(host, port, app, KeepAliveRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self.accepted += 1
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening, and end every open connection (its thread then finishes)."""
        super().server_close()
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its client


class HostDispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves each host.

    moto finds the backend of a host by listing its own package folders on disk and matching
    URL patterns, every request; the answer for a host never changes while the server runs.
    """

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            pass
        backend = super().get_backend_for_host(host)
        if backend is not None and len(self._backends) < _MAX_REMEMBERED_HOSTS:
            self._backends[host] = backend
        return backend


_memoised = False


def memoise_method_names() -> None:
    """Remember each moto response class's method names instead of inspecting it per request.

    moto's `BaseResponse.call_action` calls `moto.core.utils.method_names_from_class` (an
    `inspect.getmembers` over the whole class) on every request, to ask whether the action is
    one of its methods; a class's methods never change once imported. The patch replaces the
    name in `moto.core.responses`, the module that calls it, with a cached copy of the same
    function. `tests/integration/test_local_moto_server.py` fails if moto stops calling it
    there or answers differently. Idempotent.
    """
    global _memoised
    if _memoised:
        return
    from moto.core import responses, utils

    # the name is looked up in moto.core.responses at each call, so that is where it goes
    memo = functools.cache(utils.method_names_from_class)
    responses.method_names_from_class = memo  # type: ignore[attr-defined]
    _memoised = True


def make_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """A keep-alive server for `app` on `host:port` (port 0: the kernel picks a free one)."""
    memoise_method_names()
    return EmulatorServer(host, port, app)
