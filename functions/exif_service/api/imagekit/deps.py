"""ImageKit surface dependencies: the Basic-auth key owner and the upload form."""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from exif_service.api.auth import basic_key, optional_owner, required_owner
from exif_service.api.inputs import read_form, upload_source
from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest, FileTooLarge
from exif_service.services.library import UploadOptions
from exif_service.services.sources import Source, too_large_message
from exif_service.settings import get_settings

_DATA_URI = re.compile(r"^data:[\w.+/-]*(?:;[\w=.+-]*)*;base64,", re.IGNORECASE)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


KeyOwner = Annotated[Account, Depends(required_owner(basic_key))]
OptionalKeyOwner = Annotated[Account | None, Depends(optional_owner(basic_key))]


@dataclass(frozen=True)
class UploadForm:
    source: Source
    options: UploadOptions
    response_fields: frozenset[str]


async def upload_form(request: Request) -> AsyncIterator[UploadForm]:
    """The multipart upload: `file` (binary, base64 or URL), `fileName` and the options."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadRequest("The upload must be sent as multipart/form-data.")
    limit = get_settings().max_upload_bytes
    # A base64 `file` is a text field 4/3 the size of the file it carries. The part may be
    # larger than that so an oversized file is refused as 413 after decoding, not as a 400
    # here; the body-size middleware still bounds what is held in memory.
    form = await read_form(request, max_files=1, max_fields=50, max_part_size=2 * limit + 65536)
    try:
        yield _parse(form, limit)
    finally:
        await form.close()


def _parse(form: FormData, limit: int) -> UploadForm:
    file_name = _text(form, "fileName")
    if not file_name:
        raise BadRequest("Missing fileName parameter for upload.")
    field = form.get("file")
    if isinstance(field, UploadFile):
        source = upload_source(field, file_name)
    elif isinstance(field, str) and field.strip():
        source = _text_source(field.strip(), file_name, limit)
    else:
        raise BadRequest("Missing file parameter for upload.")
    options = UploadOptions(
        file_name=file_name,
        folder=_text(form, "folder") or "/",
        tags=tuple(t.strip()[:100] for t in _text(form, "tags").split(",") if t.strip())[:30],
        unique_name=_flag(form, "useUniqueFileName", default=True),
    )
    fields = frozenset(f.strip() for f in _text(form, "responseFields").split(",") if f.strip())
    return UploadForm(source=source, options=options, response_fields=fields)


def _text_source(value: str, file_name: str, limit: int) -> Source:
    if value.lower().startswith(("http://", "https://")):
        return Source(url=value)
    encoded = _DATA_URI.sub("", value, count=1)
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("The file must be a binary upload, a base64 string or a URL.") from exc
    if len(data) > limit:
        raise FileTooLarge(too_large_message(limit))
    return Source(stream=io.BytesIO(data), file_name=file_name)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"The {name} parameter must be text.")
    return value.strip()


def _flag(form: FormData, name: str, *, default: bool) -> bool:
    value = _text(form, name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"The {name} parameter must be true or false.")


UploadFormDep = Annotated[UploadForm, Depends(upload_form)]
