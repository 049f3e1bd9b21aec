"""The v1 surface (exiftools.com-compatible): extract, remove, and the cleaned-file download."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from exif_service.api.delivery import kept_file, public_base
from exif_service.api.deps import BlobsDep, PoolDep, SettingsDep, StructuredDep
from exif_service.api.openapi import BATCH_BODY, KEEP, PRESET, file_body
from exif_service.api.v1.deps import BatchSources, FileOrUrl, KeyOwner, OptionalKeyOwner
from exif_service.api.v1.errors import V1Route
from exif_service.api.v1.schemas import (
    PrivacyResponse,
    present_batch,
    present_job,
    present_privacy,
    verification,
)
from exif_service.domain.privacy import strip_plan
from exif_service.services.extract import extract_batch, extract_file, find_extraction
from exif_service.services.privacy import report_for_owner
from exif_service.services.quota import charge_account
from exif_service.services.remove import cleaned_file, remove_metadata
from exif_service.services.sources import materialize

extract_router = APIRouter(route_class=V1Route, tags=["v1"])
remove_router = APIRouter(route_class=V1Route, tags=["v1"])
download_router = APIRouter(route_class=V1Route, tags=["v1"])


@extract_router.post("/api/v1/extract")
def extract(
    owner: KeyOwner,
    structured: StructuredDep,
    source: FileOrUrl,
    blobs: BlobsDep,
    pool: PoolDep,
) -> JSONResponse:
    """Extract every metadata tag of an uploaded file or a URL, synchronously."""
    with charge_account(owner), materialize(source) as local:
        job = extract_file(pool, local, owner.user_id, blobs)
    return JSONResponse(present_job(job, structured=structured))


@extract_router.post("/api/v1/extract/batch", openapi_extra=BATCH_BODY)
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
    responses={200: {"model": PrivacyResponse, "description": "The privacy report"}},
)
def privacy(owner: KeyOwner, source: FileOrUrl, pool: PoolDep) -> JSONResponse:
    """What a file gives away, and what each strip preset would remove from it (a dry run)."""
    return JSONResponse(present_privacy(report_for_owner(pool, source, owner)))


@extract_router.get("/api/v1/extract/{job_uuid}")
def get_extraction(
    request: Request,
    job_uuid: str,
    owner: OptionalKeyOwner,
    structured: StructuredDep,
    blobs: BlobsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """A stored extraction; with a key, only that key owner's extractions are found."""
    job = find_extraction(job_uuid, owner.user_id if owner else None, blobs)
    base = public_base(request, settings)
    download = f"{base}/download-cleaned/{job.uuid}"
    return JSONResponse(present_job(job, lookup=True, download_url=download, structured=structured))


@remove_router.post("/api/v1/remove", openapi_extra=file_body(preset=PRESET, keep=KEEP))
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
    with charge_account(owner), materialize(source) as local:
        job = remove_metadata(pool, local, owner.user_id, blobs, plan)
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


@download_router.get("/download-cleaned/{job_uuid}")
def download_cleaned(job_uuid: str, blobs: BlobsDep, settings: SettingsDep) -> Response:
    """The cleaned file, under the caller's original name, for 24 hours after removal."""
    cleaned = cleaned_file(job_uuid, blobs)
    return kept_file(cleaned.key, cleaned.file_name, cleaned.content_type, blobs, settings)
