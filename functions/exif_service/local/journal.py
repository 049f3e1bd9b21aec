"""The embedded emulator's write-ahead journal: every acknowledged write survives a kill -9.

moto keeps its state in memory. `JournalingApp` wraps moto's WSGI application: a request that
changes data (a DynamoDB item write, an S3 put, post or delete) is applied, and when moto
answers it with a 2xx the request itself (method, path, headers, body) is appended to the
journal and flushed to disk (fdatasync) before the answer leaves. At the next start the
journal is replayed, in order, onto the last snapshot, and folded into a new one.

Writes are applied and appended under one lock, so the journal's order is the order moto
applied them in: a conditional write (the daily quota's `used < limit`) replays with the
outcome it had. The fsync happens after the lock is released, and one fsync covers every record
appended before it, so concurrent writers share the disk's wait. Reads never take the lock.

Record layout: `>IQ` (header length, body length), the JSON header, the body, and a CRC-32 of
both. A torn last record (the process died while writing it, before answering) fails its
length or checksum and is dropped.
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import sys
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

_HEAD = struct.Struct(">IQ")
_CRC = struct.Struct(">I")
_MAGIC = b"exif-service journal 1 "

# DynamoDB operations that change items (table definitions are re-created at every start)
DYNAMODB_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_S3_WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})
# the parts of a WSGI environ that describe the request (plus every HTTP_* header)
_ENVIRON_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "REQUEST_URI")
_PRESERVED_NAMES = "moto.preserved_header_names"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def sync_file(fd: int) -> None:
    """Flush a file's data to the disk."""
    # fdatasync skips the inode's times, which replay does not need
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


@dataclass(frozen=True)
class Record:
    """One journaled request."""

    environ: dict[str, Any]
    body: bytes


class Journal:
    """An append-only file of acknowledged writes, named by a random id.

    The snapshot that folds a journal records its id, so a crash between writing the snapshot
    and starting a new journal never replays a write twice.
    """

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        self.path = path
        self.sync = sync
        self._file: BinaryIO | None = None
        self.id = ""
        self._sync_lock = threading.Lock()  # taken inside the app's lock, never around it
        self._written = 0  # bytes handed to the OS
        self._synced = 0  # bytes known to be on disk

    def open(self) -> None:
        """Open the journal for appending, starting an empty one if there is none."""
        if not self.path.exists():
            self.reset()
            return
        self.id, good_end = self._scan()
        file = self.path.open("r+b")
        file.truncate(good_end)  # a torn last record was never acknowledged
        file.seek(good_end)
        self._file = file
        self._written = self._synced = good_end

    def reset(self) -> None:
        """Start a new, empty journal (atomically replacing the old one)."""
        with self._sync_lock:
            self._reset()

    def _reset(self) -> None:
        self._close()
        self.id = uuid.uuid4().hex
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as new:
            new.write(_MAGIC + self.id.encode() + b"\n")
            new.flush()
            sync_file(new.fileno())
        tmp.replace(self.path)
        sync_dir(self.path.parent)
        self._file = self.path.open("ab")
        self._written = self._synced = self._file.tell()

    def close(self) -> None:
        with self._sync_lock:
            self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def size(self) -> int:
        return self._file.tell() if self._file is not None else 0

    def append(self, environ: dict[str, Any], body: bytes) -> tuple[str, int]:
        """Write one request to the OS (callers hold the app's lock, which orders records);
        returns where it ends, for `make_durable`."""
        assert self._file is not None, "open() the journal first"
        header = json.dumps(_describe(environ), separators=(",", ":")).encode()
        crc = zlib.crc32(body, zlib.crc32(header))
        self._file.write(_HEAD.pack(len(header), len(body)) + header)
        self._file.write(body)
        self._file.write(_CRC.pack(crc))
        self._file.flush()
        self._written = self._file.tell()
        return self.id, self._written

    def make_durable(self, mark: tuple[str, int]) -> None:
        """Return once the journal is on disk up to `mark` (an `append` result).

        Called outside the app's lock: while one thread waits for the disk, others apply and
        append, and one fsync then covers all of them (group commit).
        """
        if not self.sync:
            return
        journal_id, end = mark
        with self._sync_lock:
            if journal_id != self.id:
                return  # folded since: the snapshot holding the write is on disk
            if self._synced >= end or self._file is None:
                return
            upto = self._written
            sync_file(self._file.fileno())
            self._synced = upto

    def records(self) -> Iterator[Record]:
        """The journal's complete records, oldest first (the file's own id is `self.id`)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            self.id = _read_id(f)
            for header, body in _read_records(f):
                yield Record(json.loads(header), body)

    def _scan(self) -> tuple[str, int]:
        with self.path.open("rb") as f:
            journal_id = _read_id(f)
            end = f.tell()
            for _ in _read_records(f):
                end = f.tell()
        return journal_id, end


def _read_id(f: io.BufferedReader) -> str:
    line = f.readline()
    if not line.startswith(_MAGIC):
        raise ValueError("not a journal file")
    return line[len(_MAGIC) :].strip().decode()


def _read_records(f: io.BufferedReader) -> Iterator[tuple[bytes, bytes]]:
    while True:
        head = f.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        header_len, body_len = _HEAD.unpack(head)
        header = f.read(header_len)
        body = f.read(body_len)
        crc = f.read(_CRC.size)
        if len(header) < header_len or len(body) < body_len or len(crc) < _CRC.size:
            return
        if _CRC.unpack(crc)[0] != zlib.crc32(body, zlib.crc32(header)):
            log.warning("journal %s: dropped a damaged last record", f.name)
            return
        yield header, body


def sync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename or a new file) to the disk."""
    if sys.platform == "win32":  # directories cannot be opened there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(environ: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {
        key: value
        for key, value in environ.items()
        if (key.startswith("HTTP_") or key in _ENVIRON_KEYS) and isinstance(value, str)
    }
    described.pop("HTTP_TRANSFER_ENCODING", None)  # the body is stored de-chunked
    names = environ.get(_PRESERVED_NAMES)
    if isinstance(names, dict):
        described[_PRESERVED_NAMES] = names
    return described


def is_write(environ: dict[str, Any]) -> bool:
    """Whether this emulator request may change stored data (and so must be journaled)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        prefix, _, operation = target.partition(".")
        return prefix.startswith("DynamoDB_") and operation in DYNAMODB_WRITES
    if environ.get("REQUEST_METHOD") not in _S3_WRITE_METHODS:
        return False
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return False
    # Signed requests name their service in the credential scope; an unsigned POST is a
    # presigned upload form, which moto (and this journal) treat as S3.
    scope = environ.get("HTTP_AUTHORIZATION", "") or environ.get("QUERY_STRING", "")
    return "/s3/" in scope or "%2Fs3%2F" in scope or "Credential" not in scope


class JournalingApp:
    """moto's WSGI application with every acknowledged write journaled before its answer."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.journal: Journal | None = None  # None: pass writes through (restore, replay)
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        journal = self.journal
        if journal is None or not is_write(environ):
            return self.app(environ, start_response)
        body = _read_body(environ)
        status: list[Any] = []

        def capture(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[:] = [code, headers, exc_info]
            return lambda data: None  # moto never uses the legacy write callable

        with self.lock:
            result = self.app(environ, capture)
            try:
                answer = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            mark = journal.append(environ, body) if status and status[0][:1] == "2" else None
        if mark is not None:
            journal.make_durable(mark)  # on disk before the answer leaves
        start_response(*status)
        return [answer]

    def replay(self, records: Iterable[Record]) -> tuple[int, int]:
        """Apply journaled requests to the emulator in order; (applied, refused) counts."""
        applied = refused = 0
        for record in records:
            environ = _environ_for(record)
            codes: list[str] = []

            def capture(code: str, headers: Any, exc_info: Any = None, _codes: Any = codes) -> Any:
                _codes.append(code)
                return lambda data: None

            result = self.app(environ, capture)
            b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()
            if codes and codes[0][:1] == "2":
                applied += 1
            else:
                refused += 1
                log.warning("journal replay: %s %s answered %s", *_what(record), codes[:1])
        return applied, refused


def _what(record: Record) -> tuple[str, str]:
    environ = record.environ
    target = environ.get("HTTP_X_AMZ_TARGET")
    return environ.get("REQUEST_METHOD", "?"), target or environ.get("PATH_INFO", "?")


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's body, read once (the journal keeps it); moto is handed the same bytes."""
    from werkzeug.exceptions import ClientDisconnected
    from werkzeug.wsgi import get_content_length

    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body: bytes = stream.read()  # the server ends the stream (its length or its chunks)
    else:
        length = get_content_length(environ) or 0
        body = stream.read(length) if length else b""
        if len(body) < length:  # the client went away inside the body: nothing to apply
            raise ClientDisconnected()
    _hand_over(environ, body)
    return body


def _hand_over(environ: dict[str, Any], body: bytes) -> None:
    """Give moto `body` as the request's stream. Marked as ended by the server, it reaches moto
    unwrapped, and one read() of a BytesIO from its start returns `body` itself, not a copy
    (werkzeug would otherwise read it again in 64 KB pieces and join them)."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is de-chunked now
    environ["wsgi.input_terminated"] = True


def _environ_for(record: Record) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ.update(record.environ)
    _hand_over(environ, record.body)
    return environ
