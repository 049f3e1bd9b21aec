"""The upload handling alone, in MB/s: a multipart body, arriving in 64 KB messages as a server
hands them over, until the file is on disk where the engine reads it.

Streamed (the service): `api.inputs.read_form` writes the file part straight into its file as
it arrives, capped on the way; the workspace then links to it. Spooled (before): Starlette's
`request.form()` spools the part to a temp file, which is then copied into the workspace.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from exif_service.api.inputs import read_form, upload_source

_CHUNK = 64 * 1024
_BOUNDARY = "benchboundary7d1f"


def multipart_body(data: bytes, name: str = "photo.jpg") -> bytes:
    head = (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{_BOUNDARY}--\r\n".encode()


def _request(body: bytes) -> Request:
    chunks = [body[i : i + _CHUNK] for i in range(0, len(body), _CHUNK)]
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        if sent < len(chunks):
            sent += 1
            return {
                "type": "http.request",
                "body": chunks[sent - 1],
                "more_body": sent < len(chunks),
            }
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/extract",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={_BOUNDARY}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return Request(scope, receive)


async def _streamed(body: bytes, workdir: Path) -> None:
    form = await read_form(_request(body))
    upload = form["file"]
    assert isinstance(upload, UploadFile)
    source = upload_source(upload)
    assert source.landed is not None
    (workdir / "input.jpg").hardlink_to(source.landed)
    await form.close()


async def _spooled(body: bytes, workdir: Path) -> None:
    form = await _request(body).form(max_files=1)
    upload = form["file"]
    assert isinstance(upload, UploadFile)
    with (workdir / "input.jpg").open("wb") as out:
        shutil.copyfileobj(upload.file, out, 256 * 1024)
    await form.close()


def _time(
    handle: Callable[[bytes, Path], Coroutine[Any, Any, None]], body: bytes, rounds: int
) -> float:
    best = float("inf")
    for _ in range(rounds):
        workdir = Path(tempfile.mkdtemp(prefix="exs-bench-"))
        try:
            started = time.perf_counter()
            asyncio.run(handle(body, workdir))
            best = min(best, time.perf_counter() - started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return best


def measure(data: bytes, rounds: int = 5) -> dict[str, float]:
    """MB/s of each way of landing `data` (best of `rounds`)."""
    body = multipart_body(data)
    megabytes = len(data) / 1e6
    return {
        "streamed into its file, linked into the workspace": megabytes
        / _time(_streamed, body, rounds),
        "spooled by request.form(), then copied (before)": megabytes
        / _time(_spooled, body, rounds),
    }
