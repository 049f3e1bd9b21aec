"""Handing files back: public addresses, attachment headers, kept files and processed files.

Every surface sends files through here, so the rules live once: a file kept in the bucket is a
presigned redirect on AWS (where a Lambda response could not carry it) and a stream locally; a
processed file goes in the body unless it is too big for a Lambda response; every processed
file says it was verified.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import IO
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from exif_service.services.edit import Download, iter_file, park_archive
from exif_service.services.runtime import FileStore
from exif_service.settings import Settings

# A Lambda response body is capped at 6 MB and binary bodies are base64-encoded (4/3 larger).
INLINE_RESPONSE_LIMIT = 4 * 1024 * 1024


def public_base(request: Request, settings: Settings) -> str:
    """The address callers reach this server at: the configured one, else the request's."""
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def content_disposition(file_name: str) -> str:
    """An attachment header keeping the caller's name, safe for any characters in it."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", file_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def verified_headers(
    kept: tuple[str, ...] = (), content_credentials: str | None = None
) -> dict[str, str]:
    """The engine re-read the file before it was returned; what stayed, if anything, and why;
    and what became of its Content Credentials (removed, kept, none) when there was one file."""
    headers = {"X-Metadata-Verified": "true"}
    if kept:
        headers["X-Metadata-Kept"] = "; ".join(kept)
    if content_credentials is not None:
        headers["X-Content-Credentials"] = content_credentials
    return headers


def kept_file(
    key: str,
    file_name: str,
    content_type: str,
    blobs: FileStore,
    settings: Settings,
    *,
    attachment: bool = True,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A file kept in the bucket: a presigned redirect on AWS, streamed from the bucket locally.

    The first chunk is fetched before answering, so a missing object is a 404 rather than a
    broken 200.
    """
    disposition = content_disposition(file_name)
    if settings.download_redirects:
        url = blobs.presigned_get(key, disposition, content_type, settings.presign_ttl_s)
        return RedirectResponse(url, status_code=302)
    chunks = blobs.stream(key)
    first = next(chunks, b"")
    sent = dict(headers or {})
    if attachment:
        sent["Content-Disposition"] = disposition
    return StreamingResponse(
        itertools.chain([first], chunks), media_type=content_type, headers=sent
    )


def processed_file(result: Download, blobs: FileStore, settings: Settings) -> Response:
    """A processed file in the body, or a redirect to its kept copy when too big for Lambda."""
    if settings.download_redirects and len(result.data) > INLINE_RESPONSE_LIMIT:
        return _see_other(
            blobs,
            settings,
            result.s3_key,
            result.file_name,
            result.content_type,
            result.kept,
            result.content_credentials,
        )
    return Response(
        result.data,
        media_type=result.content_type,
        headers={
            "Content-Disposition": content_disposition(result.file_name),
            **verified_headers(result.kept, result.content_credentials),
        },
    )


def processed_archive(
    archive: IO[bytes], file_name: str, blobs: FileStore, settings: Settings
) -> Response:
    """A batch's ZIP streamed, or parked in the bucket and redirected to when too big."""
    size = archive.seek(0, 2)
    archive.seek(0)
    if settings.download_redirects and size > INLINE_RESPONSE_LIMIT:
        key = park_archive(archive, blobs)
        return _see_other(blobs, settings, key, file_name, "application/zip")
    return StreamingResponse(
        iter_file(archive),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(file_name), **verified_headers()},
    )


def _see_other(
    blobs: FileStore,
    settings: Settings,
    key: str,
    file_name: str,
    content_type: str,
    kept: tuple[str, ...] = (),
    content_credentials: str | None = None,
) -> Response:
    disposition = content_disposition(file_name)
    url = blobs.presigned_get(key, disposition, content_type, settings.presign_ttl_s)
    headers = verified_headers(kept, content_credentials)
    return RedirectResponse(url, status_code=303, headers=headers)
