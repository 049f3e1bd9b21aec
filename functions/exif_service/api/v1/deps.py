"""The v1 surface's dependencies: the key owner (`X-API-Key` or `?key=`), the file or URL,
and the fields of an upload grant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from exif_service.api.auth import optional_owner, required_owner, v1_key
from exif_service.api.inputs import file_or_url, read_form, read_json
from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest
from exif_service.services.sources import Source

KeyOwner = Annotated[Account, Depends(required_owner(v1_key))]
OptionalKeyOwner = Annotated[Account | None, Depends(optional_owner(v1_key))]
FileOrUrl = Annotated[Source, Depends(file_or_url)]

_FIELDS = ("operation", "fileName", "callbackUrl", "keep")


async def upload_request(request: Request) -> dict[str, str]:
    """The request's fields from a JSON body, a form, or the query string (in that order)."""
    content_type = request.headers.get("content-type", "").lower()
    data: dict[str, Any] = {}
    if content_type.startswith("application/json"):
        data = await read_json(request)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await read_form(request, max_files=0)
        data = {name: form.get(name) for name in _FIELDS if form.get(name) is not None}
    fields: dict[str, str] = {}
    for name in _FIELDS:
        value = data.get(name, request.query_params.get(name))
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string.")
        fields[name] = value
    return fields


UploadFields = Annotated[dict[str, str], Depends(upload_request)]
