"""The peer the benchmark measures the service against: the least an HTTP metadata API can do.

FastAPI parses the upload, writes it to a temp file, and the same `-stay_open` ExifTool reads it
(`POST /extract`: `-j -G`) or strips it (`POST /remove`: `-all=`, the file back). No auth, no
quota, no store, no checks. As many ExifTool processes as the service's pool has.

    python -m uvicorn bench.peer:app --port 8100
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, UploadFile
from fastapi.responses import JSONResponse, Response

from exif_service.settings import get_settings


class StayOpen:
    """One `-stay_open` ExifTool: write the arguments, read stdout up to `{ready}`."""

    def __init__(self) -> None:
        settings = get_settings()
        self.proc = subprocess.Popen(  # noqa: S603 - the pinned ExifTool
            [settings.perl_path, str(settings.exiftool_path), "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def run(self, *args: str) -> bytes:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("\n".join([*args, "-execute", ""]).encode())
        self.proc.stdin.flush()
        out = bytearray()
        while (line := self.proc.stdout.readline()) and not line.startswith(b"{ready}"):
            out += line
        return bytes(out)


_pool: queue.Queue[StayOpen] = queue.Queue()
for _ in range(get_settings().exiftool_pool_size):
    _pool.put(StayOpen())

app = FastAPI()


def _exiftool(*args: str) -> bytes:
    tool = _pool.get()
    try:
        return tool.run(*args)
    finally:
        _pool.put(tool)


def _landed(file: UploadFile, folder: str) -> Path:
    path = Path(folder) / f"input{Path(file.filename or 'x.jpg').suffix.lower()}"
    with path.open("wb") as out:
        while chunk := file.file.read(1024 * 1024):
            out.write(chunk)
    return path


@app.post("/extract")
def extract(file: UploadFile) -> JSONResponse:
    with tempfile.TemporaryDirectory() as folder:
        report: list[dict[str, Any]] = json.loads(_exiftool("-j", "-G", str(_landed(file, folder))))
    return JSONResponse({"success": True, "metadata": report[0]})


@app.post("/remove")
def remove(file: UploadFile) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        source = _landed(file, folder)
        out = Path(folder) / f"out{source.suffix}"
        _exiftool("-all=", "-o", str(out), str(source))
        return Response(out.read_bytes(), media_type="application/octet-stream")
