"""Dependencies of the image tools: who is calling, and the multipart form they sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from exif_service.api.delivery import public_base
from exif_service.api.deps import SettingsDep
from exif_service.api.images.session import images_account, is_https, session_account
from exif_service.api.inputs import file_or_url, read_form, upload_source
from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest, Forbidden
from exif_service.services.sources import Source

ImagesAccount = Annotated[Account, Depends(images_account)]
SessionAccount = Annotated[Account, Depends(session_account)]

# A request may carry more parts than a batch allows, so the count can be refused by name.
_MAX_PARTS = 100


def admin_account(account: ImagesAccount) -> Account:
    """The caller, who must be an administrator (403 otherwise)."""
    if not account.is_admin:
        raise Forbidden("This endpoint is reserved for administrators.")
    return account


def client_ip(request: Request) -> str:
    """The caller's address, never a header the caller wrote: on AWS API Gateway's `sourceIp`
    (Mangum's client), locally the connection's peer, or the X-Forwarded-For of a proxy listed
    in EXIF_SERVICE_FORWARDED_ALLOW_IPS (uvicorn applies it, local/server.py)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Upload:
    """The uploaded file(s) and the text fields of a multipart request."""

    files: list[Source]
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> Source:
        return self.files[0]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


async def _form(request: Request, *, refuse_oversized: bool = True) -> FormData:
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("Send the image as multipart/form-data.")
    return await read_form(request, max_files=_MAX_PARTS, refuse_oversized=refuse_oversized)


def _texts(form: FormData) -> dict[str, str]:
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def _source(upload: UploadFile) -> Source:
    return upload_source(upload)


async def single_upload(request: Request) -> AsyncIterator[Upload]:
    """One image in the `file` field, plus the text fields."""
    form = await _form(request)
    try:
        uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not uploads:
            raise BadRequest("Provide the image in the multipart field 'file'.")
        if len(uploads) > 1:
            raise BadRequest("Send one image in 'file'; batches go to the bulk endpoints.")
        yield Upload(files=[_source(uploads[0])], fields=_texts(form))
    finally:
        await form.close()


async def bulk_upload(request: Request) -> AsyncIterator[Upload]:
    """The images in the `files` fields (count checked by the service), plus the text fields."""
    form = await _form(request, refuse_oversized=False)
    try:
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        yield Upload(files=[_source(u) for u in uploads], fields=_texts(form))
    finally:
        await form.close()


AdminAccount = Annotated[Account, Depends(admin_account)]
SingleUpload = Annotated[Upload, Depends(single_upload)]
BulkUpload = Annotated[Upload, Depends(bulk_upload)]

__all__ = ["AdminAccount", "BulkUpload", "ImagesAccount", "SingleUpload", "images_account"]
FileOrUrl = Annotated[Source, Depends(file_or_url)]


async def raw_body(request: Request) -> bytes:
    """The exact bytes Stripe signed (parsing first would change them)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def site_url(request: Request, settings: SettingsDep) -> str:
    """Where the web app is, for the addresses Stripe sends the browser back to."""
    base = public_base(request, settings)
    # behind a TLS-terminating proxy the request itself arrives as http
    if not settings.public_base_url and is_https(request) and base.startswith("http://"):
        base = "https://" + base.removeprefix("http://")
    return base


SiteUrl = Annotated[str, Depends(site_url)]
