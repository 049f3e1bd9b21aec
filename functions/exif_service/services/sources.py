"""Getting the caller's file onto local disk: from an upload stream or an SSRF-safe URL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from exif_service import fetch
from exif_service.domain.errors import BadRequest, FileTooLarge
from exif_service.engine.prescan import check_file
from exif_service.engine.workspace import safe_extension, workspace
from exif_service.settings import Settings, get_settings

_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Source:
    """What the caller sent: an upload (stream + name) or a URL, never both."""

    stream: BinaryIO | None = None
    file_name: str | None = None
    url: str | None = None
    # where the upload already lies on local disk (written once as it streamed in): the
    # workspace links to it instead of copying `stream`
    landed: Path | None = None
    # text fields sent beside the file or URL (form fields or JSON members), e.g. `preset`
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalFile:
    """The caller's file in a private workspace, under a server-chosen name."""

    path: Path
    file_name: str
    size: int

    @property
    def workdir(self) -> Path:
        return self.path.parent


def display_name(name: str | None, default: str = "file", max_chars: int | None = 255) -> str:
    """The caller's file name as shown back to them: no directories, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:max_chars] or default


def too_large_message(limit: int) -> str:
    return f"File too large: the limit is {limit // (1024 * 1024)} MB."


@contextmanager
def materialize(source: Source, settings: Settings | None = None) -> Iterator[LocalFile]:
    """Put the caller's file in a fresh workspace; the workspace is removed on exit.

    The file is refused (FileTooComplex) before any ExifTool sees it when its metadata is built
    to keep a parser busy (engine/prescan.py): every surface that takes a file lands it here.
    """
    settings = settings or get_settings()
    if (source.stream is None) == (source.url is None):
        raise BadRequest("Provide either a file or a url, not both and not neither.")
    with workspace() as workdir:
        if source.stream is not None:
            name = display_name(source.file_name)
            path = workdir / f"input.{safe_extension(name)}"
            if source.landed is not None:
                size = _link_capped(source.landed, path, settings.max_upload_bytes)
            else:
                size = _copy_capped(source.stream, path, settings.max_upload_bytes)
        else:
            assert source.url is not None
            download = fetch.download(source.url, workdir / "download.tmp", settings)
            name = display_name(download.file_name, default="download")
            path = workdir / f"input.{safe_extension(name)}"
            (workdir / "download.tmp").rename(path)
            size = download.size
        if size == 0:
            raise BadRequest("The file is empty.")
        check_file(path)
        yield LocalFile(path=path, file_name=name, size=size)


def _link_capped(landed: Path, dest: Path, limit: int) -> int:
    size = landed.stat().st_size
    if size > limit:
        raise FileTooLarge(too_large_message(limit))
    try:
        os.link(landed, dest)  # same temp file system: no bytes move
    except OSError:
        shutil.copyfile(landed, dest)
    return size


def _copy_capped(stream: BinaryIO, dest: Path, limit: int) -> int:
    size = 0
    with dest.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(too_large_message(limit))
            out.write(chunk)
    return size
