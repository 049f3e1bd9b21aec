"""v1 surface: POST /api/v1/uploads grants a presigned S3 upload for files too large to post.

The client sends the file straight to S3 with the returned form fields; the S3 event processes
it, and GET /api/v1/extract/{uuid} shows `processing`, then `completed` or `failed`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from exif_service.api.auth import api_account, v1_key
from exif_service.api.delivery import public_base
from exif_service.api.deps import BlobsDep, SettingsDep
from exif_service.api.inputs import read_form, read_json
from exif_service.api.v1.errors import V1Route
from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest
from exif_service.services.uploads import start_upload

uploads_router = APIRouter(route_class=V1Route, tags=["v1"])

_FIELDS = ("operation", "fileName", "callbackUrl", "keep")


def _owner(request: Request) -> Account:
    return api_account(v1_key(request))


async def _upload_request(request: Request) -> dict[str, str]:
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


KeyOwner = Annotated[Account, Depends(_owner)]
UploadFields = Annotated[dict[str, str], Depends(_upload_request)]


@uploads_router.post("/api/v1/uploads")
def create_upload(
    request: Request,
    owner: KeyOwner,
    fields: UploadFields,
    blobs: BlobsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Grant a presigned S3 POST for one file and record its job as processing."""
    grant = start_upload(
        owner,
        operation=fields.get("operation", "extract"),
        file_name=fields.get("fileName"),
        callback_url=fields.get("callbackUrl"),
        keep=fields.get("keep", "safe"),
        blobs=blobs,
        settings=settings,
    )
    base = public_base(request, settings)
    job = grant.job
    body = {
        "success": True,
        "status": job.status.value,
        "uuid": job.uuid,
        "operation": job.operation.value,
        "fileName": job.file_name,
        "upload": {
            "method": "POST",
            "url": grant.url,
            "fields": grant.fields,
            "maxBytes": grant.max_bytes,
            "expiresIn": grant.expires_in,
        },
        "statusUrl": f"{base}/api/v1/extract/{job.uuid}",
    }
    return JSONResponse(body)
