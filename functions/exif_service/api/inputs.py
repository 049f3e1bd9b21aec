"""Reading the caller's file or URL out of a request: multipart, JSON, form or query.

A multipart file part is written once, as it arrives, into a file of its own private directory
(`LandedUpload`), and counted against the upload limit on the way: an oversized file is refused
with 413 before the rest of it is read. The engine's workspace takes that file by a hard link
(`services.sources.materialize`), so a 25 MB upload costs 25 MB of writes, not a spooled copy and
then a second copy.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from exif_service.domain.errors import BadRequest, FileTooLarge
from exif_service.services.sources import Source, too_large_message
from exif_service.settings import get_settings

_MAX_JSON = 64 * 1024
_MAX_FIELD = 1024 * 1024
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class LandedUpload(UploadFile):
    """An uploaded file written straight to disk, alone in a private (0700) temp directory.

    Closing it removes the directory.
    """

    def __init__(self, filename: str | None, headers: Headers) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="exs-upload-"))
        self.path = self.directory / "upload"
        super().__init__(file=self.path.open("w+b"), size=0, filename=filename, headers=headers)

    async def close(self) -> None:
        self.discard()

    def discard(self) -> None:
        self.file.close()
        # the directory holds this one file: two calls, not rmtree's walk (about a millisecond
        # a request under load)
        try:
            self.path.unlink(missing_ok=True)
            self.directory.rmdir()
        except OSError:
            shutil.rmtree(self.directory, ignore_errors=True)


class _LandingParser(MultiPartParser):
    """Starlette's multipart parser with file parts landed on disk and capped as they stream."""

    def __init__(
        self, request: Request, file_limit: int, refuse_oversized: bool, **limits: Any
    ) -> None:
        super().__init__(request.headers, request.stream(), **limits)
        self.file_limit = file_limit
        self.refuse_oversized = refuse_oversized
        self.landed: list[LandedUpload] = []

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        if part.file is None:
            return
        # the parent opened an (empty, in-memory) spooled file: land the part in our own instead
        spooled = self._files_to_close_on_error.pop()
        spooled.close()
        landed = LandedUpload(part.file.filename, part.file.headers)
        self.landed.append(landed)
        part.file = landed

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self._current_part.file
        if upload is None:
            super().on_part_data(data, start, end)
            return
        before = upload.size or 0
        upload.size = before + end - start
        if upload.size > self.file_limit:
            if self.refuse_oversized:
                raise FileTooLarge(too_large_message(self.file_limit))
            # one file of a batch fails alone: keep a byte over the limit for the service to
            # refuse it by, and nothing more
            end = start + max(0, self.file_limit + 1 - before)
        # a plain write into the page cache: microseconds per chunk, cheaper than a thread hop
        upload.file.write(data[start:end])


async def read_form(
    request: Request,
    max_files: int = 1,
    max_fields: int = 100,
    max_part_size: int = _MAX_FIELD,
    *,
    refuse_oversized: bool = True,
) -> FormData:
    """Parse a multipart or urlencoded body with limits on parts and field sizes.

    Files are `LandedUpload`s, each capped at the upload limit while it streams in: a file
    over it is refused at once (413), or with `refuse_oversized=False` (batches, where each
    file fails alone) cut one byte past the limit for the service to refuse. Closing the form
    removes them.
    """
    cached: FormData | None = getattr(request, "_form", None)
    if cached is not None:
        return cached
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        try:
            return await request.form(
                max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
            )
        except HTTPException as exc:
            raise BadRequest("The multipart body could not be read.") from exc
    parser = _LandingParser(
        request,
        get_settings().max_upload_bytes,
        refuse_oversized,
        max_files=max_files,
        max_fields=max_fields,
        max_part_size=max_part_size,
    )
    try:
        form = await parser.parse()
    except BaseException as exc:
        for landed in parser.landed:
            landed.discard()
        if isinstance(exc, MultiPartException):
            raise BadRequest("The multipart body could not be read.") from exc
        raise
    # later readers of the same request (request.form(), close()) see this form
    request._form = form
    return form


def upload_source(upload: UploadFile, file_name: str | None = None, **options: str) -> Source:
    """The caller's uploaded file as a service's Source (by path when it landed on disk)."""
    landed = upload.path if isinstance(upload, LandedUpload) else None
    return Source(
        stream=upload.file,
        file_name=file_name or upload.filename or "file",
        landed=landed,
        options=options,
    )


async def read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > _MAX_JSON:
        raise BadRequest("The JSON body is too large.")
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("Malformed JSON body.") from exc
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    return data


# Text options a file endpoint may take from the form or JSON body as well as the query.
OPTION_FIELDS = ("preset", "keep")


async def file_or_url(request: Request) -> AsyncIterator[Source]:
    """A `file` upload or a `url` (JSON body, form field or query parameter), exactly one.

    The options (`preset`, `keep`) come along from the query, the form or the JSON body.
    """
    content_type = request.headers.get("content-type", "").lower()
    url: Any = request.query_params.get("url")
    form: FormData | None = None
    upload: UploadFile | None = None
    sent: Mapping[str, Any] = {}
    try:
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await read_form(request)
            field = form.get("file")
            if isinstance(field, UploadFile):
                upload = field
            elif field not in (None, ""):
                raise BadRequest("The file field must be a file upload.")
            url = form.get("url") or url
            sent = form
        elif content_type.startswith("application/json"):
            data = await read_json(request)
            url = data.get("url") or url
            sent = data
        if url is not None and not isinstance(url, str):
            raise BadRequest("The url must be a string.")
        if upload is not None and url:
            raise BadRequest("Provide either a file or a url, not both.")
        if upload is None and not url:
            raise BadRequest("Provide a file (multipart field 'file') or a url.")
        options = _options(request, sent)
        if upload is not None:
            yield upload_source(upload, **options)
        else:
            yield Source(url=url, options=options)
    finally:
        if form is not None:
            await form.close()


def _options(request: Request, sent: Mapping[str, Any]) -> dict[str, str]:
    options: dict[str, str] = {}
    for name in OPTION_FIELDS:
        value = sent.get(name, request.query_params.get(name))
        if value is None:
            continue
        if isinstance(value, list):
            # a JSON keep-list may come as an array of tag names
            if not all(isinstance(item, str) for item in value):
                raise BadRequest(f"{name} must be a string or a list of strings.")
            value = ",".join(value)
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string.")
        options[name] = value
    return options


def struct_flag(
    struct: Annotated[
        str | None,
        Query(description="`true`: XMP structures (Flash, History, ...) as objects, not flattened"),
    ] = None,
) -> bool:
    """Whether `?struct=` asks for ExifTool's structured XMP; anything but true/false is a 400."""
    return query_flag(struct, "struct")


def query_flag(raw: str | None, name: str) -> bool:
    """A true/false query parameter: absent is false, anything but true/false/1/0 a 400.

    Parsed here rather than as a pydantic bool so a bad value gets a message naming the
    parameter, in each surface's envelope, before anything is charged.
    """
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false.")
