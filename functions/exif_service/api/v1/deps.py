"""The v1 surface's dependencies: the key owner (`X-API-Key` or `?key=`), the file or URL (or a
batch of them), and the fields of an upload grant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from exif_service.api.auth import optional_owner, required_owner, v1_key
from exif_service.api.inputs import file_or_url, read_form, read_json, upload_source
from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest
from exif_service.services.sources import Source

KeyOwner = Annotated[Account, Depends(required_owner(v1_key))]
OptionalKeyOwner = Annotated[Account | None, Depends(optional_owner(v1_key))]
FileOrUrl = Annotated[Source, Depends(file_or_url)]

_FIELDS = ("operation", "fileName", "callbackUrl", "preset", "keep")


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


# More parts than a batch allows are parsed, so an oversized batch is refused by its count.
_MAX_BATCH_PARTS = 100


async def batch_sources(request: Request) -> AsyncIterator[list[Source]]:
    """A batch's inputs: multipart `file` parts and a `urls` field holding a JSON array, or a
    JSON body `{"urls": [...]}`; the files come first, in the order sent, then the URLs.

    Only the shape is checked here; the count and each input are the service's to judge.
    """
    content_type = request.headers.get("content-type", "").lower()
    form: FormData | None = None
    try:
        if content_type.startswith("multipart/form-data"):
            form = await read_form(request, max_files=_MAX_BATCH_PARTS, refuse_oversized=False)
            yield _form_sources(form)
        elif content_type.startswith("application/json"):
            yield [Source(url=url) for url in _url_list((await read_json(request)).get("urls"))]
        else:
            raise BadRequest(
                "Send files as multipart/form-data (fields 'file', and 'urls' as a JSON array), "
                'or URLs as a JSON body {"urls": [...]}.'
            )
    finally:
        if form is not None:
            await form.close()


def _form_sources(form: FormData) -> list[Source]:
    # Files before URLs whatever the order of the parts: HTTP clients differ in where they put
    # text fields (httpx and requests send them first, curl keeps the order of its -F options).
    files: list[Source] = []
    for value in form.getlist("file"):
        if isinstance(value, UploadFile):
            files.append(upload_source(value))
        elif value != "":
            raise BadRequest("Each file field must be a file upload.")
    urls: list[Source] = []
    for value in form.getlist("urls"):
        if not isinstance(value, str):
            raise BadRequest("urls must be a JSON array of URLs, not a file.")
        try:
            listed = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise BadRequest("urls must be a JSON array of URLs.") from exc
        urls += [Source(url=url) for url in _url_list(listed)]
    return files + urls


def _url_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise BadRequest("urls must be a JSON array of URLs.")
    return value


BatchSources = Annotated[list[Source], Depends(batch_sources)]
