"""The v1 surface (exiftools.com-compatible): extract, remove, and the cleaned-file download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from exif_service.api.delivery import kept_file, public_base
from exif_service.api.deps import BlobsDep, PoolDep, SettingsDep, StructuredDep
from exif_service.api.openapi import (
    BATCH_BODY,
    KEEP,
    PRESET,
    error_responses,
    file_body,
    file_response,
    ok_response,
)
from exif_service.api.provenance import GeolocationDep
from exif_service.api.v1.deps import BatchSources, FileOrUrl, KeyOwner, OptionalKeyOwner
from exif_service.api.v1.errors import V1Route
from exif_service.api.v1.schemas import (
    V1_ERROR_EXAMPLES,
    BatchExtraction,
    Extraction,
    ExtractionLookup,
    PrivacyResponse,
    Removal,
    V1Error,
    present_batch,
    present_job,
    present_privacy,
    verification,
)
from exif_service.domain.privacy import strip_plan
from exif_service.services.extract import (
    extract_batch,
    extract_source,
    find_extraction,
    locate_job,
)
from exif_service.services.privacy import report_for_owner
from exif_service.services.remove import cleaned_file, remove_source

extract_router = APIRouter(route_class=V1Route, tags=["v1"])
remove_router = APIRouter(route_class=V1Route, tags=["v1"])
download_router = APIRouter(route_class=V1Route, tags=["v1"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(V1Error, V1_ERROR_EXAMPLES, codes)


# what every charged file operation may answer besides its own codes
_FILE_ERRORS = (400, 401, 403, 413, 415, 429, 500, 503)


@extract_router.post(
    "/api/v1/extract",
    openapi_extra=file_body(),
    responses={**ok_response(Extraction, "The file's metadata"), **_errors(*_FILE_ERRORS)},
)
def extract(
    owner: KeyOwner,
    structured: StructuredDep,
    geolocation: GeolocationDep,
    source: FileOrUrl,
    blobs: BlobsDep,
    pool: PoolDep,
) -> JSONResponse:
    """Extract every metadata tag of an uploaded file or a URL, synchronously."""
    job = extract_source(pool, source, owner, blobs)
    located = locate_job(pool, job) if geolocation else None
    body = present_job(job, structured=structured, geolocation=geolocation, located=located)
    return JSONResponse(body)


@extract_router.post(
    "/api/v1/extract/batch",
    openapi_extra=BATCH_BODY,
    responses={
        **ok_response(BatchExtraction, "One result per input; each succeeds or fails alone"),
        **_errors(400, 401, 403, 413, 429, 500, 503),
    },
)
def extract_many(
    owner: KeyOwner,
    structured: StructuredDep,
    sources: BatchSources,
    blobs: BlobsDep,
    pool: PoolDep,
) -> JSONResponse:
    """Extract up to 20 files and URLs in one request; each input succeeds or fails alone."""
    results = extract_batch(pool, sources, owner, blobs)
    return JSONResponse(present_batch(results, structured=structured))


@extract_router.post(
    "/api/v1/privacy",
    openapi_extra=file_body(),
    responses={
        200: {"model": PrivacyResponse, "description": "The privacy report"},
        **_errors(*_FILE_ERRORS),
    },
)
def privacy(owner: KeyOwner, source: FileOrUrl, pool: PoolDep) -> JSONResponse:
    """What a file gives away, and what each strip preset would remove from it (a dry run)."""
    return JSONResponse(present_privacy(report_for_owner(pool, source, owner)))


@extract_router.get(
    "/api/v1/extract/{job_uuid}",
    responses={
        **ok_response(ExtractionLookup, "The stored extraction"),
        **_errors(400, 401, 403, 404, 500, 503),
    },
)
def get_extraction(
    request: Request,
    job_uuid: str,
    owner: OptionalKeyOwner,
    structured: StructuredDep,
    geolocation: GeolocationDep,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """A stored extraction; with a key, only that key owner's extractions are found."""
    job = find_extraction(job_uuid, owner.user_id if owner else None, blobs)
    base = public_base(request, settings)
    download = f"{base}/download-cleaned/{job.uuid}"
    located = locate_job(pool, job) if geolocation else None
    body = present_job(
        job,
        lookup=True,
        download_url=download,
        structured=structured,
        geolocation=geolocation,
        located=located,
    )
    return JSONResponse(body)


@remove_router.post(
    "/api/v1/remove",
    openapi_extra=file_body(preset=PRESET, keep=KEEP),
    responses={
        **ok_response(Removal, "Where to download the clean file"),
        **_errors(*_FILE_ERRORS, 422),
    },
)
def remove(
    request: Request,
    owner: KeyOwner,
    source: FileOrUrl,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Strip metadata by `preset` (safe, all, location, sensitive), keeping the `keep` tags."""
    plan = strip_plan(source.options.get("preset"), source.options.get("keep"))
    job = remove_source(pool, source, owner, blobs, plan)
    base = public_base(request, settings)
    body = {
        "success": True,
        "status": job.status.value,
        "uuid": job.uuid,
        "fileName": job.file_name,
        "downloadUrl": f"{base}/download-cleaned/{job.uuid}",
        **verification(job),
    }
    return JSONResponse(body)


@download_router.get(
    "/download-cleaned/{job_uuid}",
    response_class=Response,
    responses={
        **file_response("The clean file, under the caller's name", redirect=302),
        **_errors(404, 410, 500, 503),
    },
)
def download_cleaned(job_uuid: str, blobs: BlobsDep, settings: SettingsDep) -> Response:
    """The cleaned file, under the caller's original name, for 24 hours after removal."""
    cleaned = cleaned_file(job_uuid, blobs)
    headers = {"X-Content-Credentials": cleaned.content_credentials}
    return kept_file(
        cleaned.key, cleaned.file_name, cleaned.content_type, blobs, settings, headers=headers
    )
