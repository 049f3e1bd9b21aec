"""v1 surface: POST /api/v1/uploads grants a presigned S3 upload for files too large to post.

The client sends the file straight to S3 with the returned form fields; the S3 event processes
it, and GET /api/v1/extract/{uuid} shows `processing`, then `completed` or `failed`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exif_service.api.delivery import public_base
from exif_service.api.deps import BlobsDep, SettingsDep
from exif_service.api.openapi import UPLOAD_GRANT_BODY, error_responses, ok_response
from exif_service.api.v1.deps import KeyOwner, UploadFields
from exif_service.api.v1.errors import V1Route
from exif_service.api.v1.schemas import V1_ERROR_EXAMPLES, UploadGrant, V1Error
from exif_service.domain.privacy import strip_plan
from exif_service.services.uploads import start_upload

uploads_router = APIRouter(route_class=V1Route, tags=["v1"])


@uploads_router.post(
    "/api/v1/uploads",
    openapi_extra=UPLOAD_GRANT_BODY,
    responses={
        **ok_response(UploadGrant, "Where to send the file, and where to follow its job"),
        **error_responses(V1Error, V1_ERROR_EXAMPLES, (400, 401, 403, 413, 429, 500, 503)),
    },
)
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
        plan=strip_plan(fields.get("preset"), fields.get("keep")),
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
