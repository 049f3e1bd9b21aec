"""The image tools and the processing history of the EXIF Service-style surface."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from exif_service.api.deps import BlobsDep, PoolDep, SettingsDep, StructuredDep
from exif_service.api.images.deps import (
    AdminAccount,
    BulkUpload,
    ImagesAccount,
    SingleUpload,
    client_ip,
)
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import history_html, present_history, present_view
from exif_service.api.inputs import file_or_url
from exif_service.domain.errors import BadRequest
from exif_service.domain.fields import (
    EDIT_FIELDS,
    SEO_FIELDS,
    EditMode,
    advanced_assignments,
    form_assignments,
    geo_assignments,
    parse_geo,
    parse_mode,
)
from exif_service.domain.retention import StoredFile
from exif_service.services.edit import (
    Download,
    iter_file,
    park_archive,
    process_bulk,
    process_one,
    strip_operation,
    view_metadata,
    write_operation,
)
from exif_service.services.history import owner_file, user_history
from exif_service.services.quota import ip_subject
from exif_service.services.sources import Source
from exif_service.settings import Settings
from exif_service.store.blobs import Blobs, content_disposition

images_router = APIRouter(route_class=ImagesRoute, tags=["images"])
FileOrUrl = Annotated[Source, Depends(file_or_url)]

_MAX_FIELDS_JSON = 64 * 1024
# A Lambda response body is capped at 6 MB and binary bodies are base64-encoded (4/3 larger).
INLINE_RESPONSE_LIMIT = 4 * 1024 * 1024


@images_router.post("/api/images/view-exif")
def view_exif(
    request: Request,
    structured: StructuredDep,
    source: FileOrUrl,
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Every tag of a file (or a public URL) as a flat object, and its position (public)."""
    subject = ip_subject(client_ip(request))
    report, gps = view_metadata(
        pool, source, subject, settings.public_daily_limit_per_ip, structures=structured
    )
    return JSONResponse(present_view(report, gps, structured=structured))


@images_router.post("/api/images/edit-exif")
def edit_exif(
    account: ImagesAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """Title, description, author, keywords, rights and licensing in EXIF, IPTC and XMP."""
    mode = parse_mode(upload.get("mode"))
    assignments = form_assignments(
        EDIT_FIELDS, upload.fields, allow_empty=mode is EditMode.OVERWRITE
    )
    operation = write_operation(pool, assignments, mode)
    result = process_one(
        account, "edit-exif", upload.file, operation, blobs, upload.get("webFileName")
    )
    return file_response(result, blobs, settings)


@images_router.post("/api/images/seo-exif")
def seo_exif(
    account: AdminAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """Author, title, description, place, keywords, category and URL, all required (admins)."""
    operation = write_operation(
        pool, form_assignments(SEO_FIELDS, upload.fields, required=True), EditMode.APPEND
    )
    result = process_one(
        account, "seo-exif", upload.file, operation, blobs, upload.get("webFileName")
    )
    return file_response(result, blobs, settings)


@images_router.post("/api/images/advanced-edit")
def advanced_edit(
    account: ImagesAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """Any writable tag by name, from the `fields` JSON object."""
    operation = write_operation(
        pool,
        advanced_assignments(_fields_json(upload.get("fields"))),
        parse_mode(upload.get("mode")),
    )
    result = process_one(
        account, "advanced-edit", upload.file, operation, blobs, upload.get("webFileName")
    )
    return file_response(result, blobs, settings)


@images_router.post("/api/images/geo-exif")
def geo_exif(
    account: ImagesAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """GPS position (and altitude) in EXIF and XMP."""
    point = parse_geo(upload.get("latitude"), upload.get("longitude"), upload.get("altitude"))
    operation = write_operation(pool, geo_assignments(point), EditMode.APPEND, point)
    result = process_one(
        account, "geo-exif", upload.file, operation, blobs, upload.get("webFileName")
    )
    return file_response(result, blobs, settings)


@images_router.post("/api/images/strip-exif")
def strip_exif(
    account: ImagesAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """The image without its metadata (colour profile and orientation kept)."""
    result = process_one(account, "strip-exif", upload.file, strip_operation(pool), blobs)
    return file_response(result, blobs, settings)


@images_router.post("/api/images/advanced-edit-bulk")
def advanced_edit_bulk(
    account: ImagesAccount,
    upload: BulkUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """The same tags written to up to 20 images, returned as a ZIP (Pro)."""
    operation = write_operation(
        pool,
        advanced_assignments(_fields_json(upload.get("fields"))),
        parse_mode(upload.get("mode")),
    )
    archive = process_bulk(account, "advanced-edit", upload.files, operation, blobs)
    return zip_response(archive, "edited-images.zip", blobs, settings)


@images_router.post("/api/images/strip-exif-bulk")
def strip_exif_bulk(
    account: ImagesAccount,
    upload: BulkUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """Up to 20 images without their metadata, returned as a ZIP (Pro)."""
    archive = process_bulk(account, "strip-exif", upload.files, strip_operation(pool), blobs)
    return zip_response(archive, "cleaned-images.zip", blobs, settings)


@images_router.get("/api/images/history")
def history(request: Request, account: ImagesAccount) -> Response:
    """The caller's last 50 files: JSON with `Accept: application/json`, else an HTML fragment."""
    items = user_history(account)
    now = datetime.now(UTC)
    if "application/json" in request.headers.get("accept", "").lower():
        return JSONResponse(present_history(items, now))
    return HTMLResponse(history_html(items, now))


@images_router.get("/api/images/history/{file_id}/download")
def history_download(
    file_id: str, account: ImagesAccount, blobs: BlobsDep, settings: SettingsDep
) -> Response:
    """The caller's processed file within 24 hours of processing (410 after, 404 for others)."""
    return stored_file_response(owner_file(account, file_id), blobs, settings)


def _fields_json(raw: str | None) -> Any:
    if not raw or not raw.strip():
        raise BadRequest("fields is required: a JSON object of tag names and values.")
    if len(raw) > _MAX_FIELDS_JSON:
        raise BadRequest("fields is too large.")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest("fields must be valid JSON.") from exc


def file_response(result: Download, blobs: Blobs, settings: Settings) -> Response:
    """The processed file in the body, or a redirect to its copy when too big for Lambda."""
    if settings.download_redirects and len(result.data) > INLINE_RESPONSE_LIMIT:
        redirect = _see_other(blobs, settings, result.s3_key, result.file_name, result.content_type)
        redirect.headers.update(verified_headers(result.kept))
        return redirect
    return Response(
        result.data,
        media_type=result.content_type,
        headers={
            "Content-Disposition": content_disposition(result.file_name),
            **verified_headers(result.kept),
        },
    )


def verified_headers(kept: tuple[str, ...] = ()) -> dict[str, str]:
    """The engine re-read the file before it was returned; what stayed, if anything, and why."""
    headers = {"X-Metadata-Verified": "true"}
    if kept:
        headers["X-Metadata-Kept"] = "; ".join(kept)
    return headers


def zip_response(archive: IO[bytes], file_name: str, blobs: Blobs, settings: Settings) -> Response:
    """The batch's ZIP streamed, or parked in the bucket and redirected to when too big."""
    size = archive.seek(0, 2)
    archive.seek(0)
    if settings.download_redirects and size > INLINE_RESPONSE_LIMIT:
        key = park_archive(archive, blobs)
        redirect = _see_other(blobs, settings, key, file_name, "application/zip")
        redirect.headers.update(verified_headers())
        return redirect
    return StreamingResponse(
        iter_file(archive),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(file_name), **verified_headers()},
    )


def _see_other(
    blobs: Blobs, settings: Settings, key: str, file_name: str, content_type: str
) -> Response:
    url = blobs.presigned_get(key, file_name, content_type, settings.presign_ttl_s)
    return RedirectResponse(url, status_code=303)


def stored_file_response(item: StoredFile, blobs: Blobs, settings: Settings) -> Response:
    """A kept file: a presigned redirect on AWS, streamed from the bucket locally."""
    if settings.download_redirects:
        url = blobs.presigned_get(
            item.s3_key, item.file_name, item.content_type, settings.presign_ttl_s
        )
        return RedirectResponse(url, status_code=302)
    chunks = blobs.stream(item.s3_key)
    first = next(chunks, b"")  # a missing blob is a 404 now, not a broken stream later
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type=item.content_type,
        headers={"Content-Disposition": content_disposition(item.file_name)},
    )
