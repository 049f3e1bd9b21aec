"""Reading the caller's file or URL out of a request: multipart, JSON, form or query."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from exif_service.domain.errors import BadRequest
from exif_service.services.sources import Source

_MAX_JSON = 64 * 1024
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


async def read_form(request: Request, max_files: int = 1) -> FormData:
    """Parse a multipart or urlencoded body with limits on parts and field sizes."""
    try:
        return await request.form(max_files=max_files, max_fields=100, max_part_size=1024 * 1024)
    except HTTPException as exc:
        raise BadRequest("The multipart body could not be read.") from exc


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
            yield Source(stream=upload.file, file_name=upload.filename or "file", options=options)
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
    # Parsed here rather than as a pydantic bool so a bad value gets a message naming the
    # parameter, in each surface's envelope, before anything is charged.
    if struct is None:
        return False
    value = struct.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest("struct must be true or false.")
