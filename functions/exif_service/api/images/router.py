"""The image tools and the processing history of the EXIF Service-style surface."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    Response,
)

from exif_service.api.delivery import kept_file, processed_archive, processed_file
from exif_service.api.deps import BlobsDep, PoolDep, SettingsDep, StructuredDep
from exif_service.api.images.deps import (
    AdminAccount,
    BulkUpload,
    FileOrUrl,
    ImagesAccount,
    SingleUpload,
    client_ip,
)
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import (
    IMAGES_ERROR_EXAMPLES,
    VIEW_EXIF_EXAMPLE,
    HistoryList,
    ImagesError,
    PrivacyReportResponse,
    ViewExifResponse,
    history_html,
    present_history,
    present_privacy,
    present_view,
)
from exif_service.api.openapi import (
    FIELDS_JSON,
    KEEP,
    MODE,
    PRESET,
    PUBLIC,
    WEB_FILE_NAME,
    error_responses,
    file_body,
    file_response,
    ok_response,
    text_fields,
    verified_file_response,
)
from exif_service.api.privacy import PrivacyDep, privacy_body
from exif_service.api.provenance import GeolocationDep
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
from exif_service.domain.privacy import strip_plan
from exif_service.services.edit import (
    process_bulk,
    process_one,
    strip_operation,
    view_metadata,
    write_operation,
)
from exif_service.services.extract import locate
from exif_service.services.history import owner_file, user_history
from exif_service.services.privacy import public_report
from exif_service.services.quota import ip_subject

images_router = APIRouter(route_class=ImagesRoute, tags=["images"])

_MAX_FIELDS_JSON = 64 * 1024


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, codes)


# what every tool that writes a file may answer besides the file
_TOOL_ERRORS = (400, 401, 403, 413, 415, 422, 429, 500, 503)
_PUBLIC_ERRORS = (400, 413, 415, 429, 500, 503)
_EDITED = verified_file_response("The edited file, read back before it was sent", "image/*")


@images_router.post(
    "/api/images/view-exif",
    openapi_extra={**file_body(), **PUBLIC},
    responses={
        **ok_response(ViewExifResponse, "Every tag by name, and the position", VIEW_EXIF_EXAMPLE),
        **_errors(*_PUBLIC_ERRORS),
    },
)
def view_exif(
    request: Request,
    structured: StructuredDep,
    geolocation: GeolocationDep,
    privacy: PrivacyDep,
    source: FileOrUrl,
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Every tag of a file (or a public URL) as a flat object, its position, its provenance,
    with `?geolocation=true` the place it was made, and with `?privacy=true` its privacy
    report, for one image of the allowance (public)."""
    subject = ip_subject(client_ip(request))
    viewed = view_metadata(
        pool,
        source,
        subject,
        settings.public_daily_limit_per_ip,
        structures=structured,
        privacy=privacy,
    )
    gps = viewed.gps
    located = (
        locate(pool, viewed.report, (gps.lat, gps.lng) if gps else None) if geolocation else None
    )
    body = present_view(
        viewed.report, gps, structured=structured, geolocation=geolocation, located=located
    )
    if viewed.privacy is not None:
        body["privacy"] = privacy_body(viewed.privacy)
    return JSONResponse(body)


@images_router.post(
    "/api/images/privacy-report",
    openapi_extra={**file_body(), **PUBLIC},
    responses={
        200: {"model": PrivacyReportResponse, "description": "The privacy report"},
        **_errors(*_PUBLIC_ERRORS),
    },
)
def privacy_report(
    request: Request, source: FileOrUrl, pool: PoolDep, settings: SettingsDep
) -> JSONResponse:
    """What a file gives away and what each strip preset would remove (public, like view-exif)."""
    subject = ip_subject(client_ip(request))
    report = public_report(pool, source, subject, settings.public_daily_limit_per_ip)
    return JSONResponse(present_privacy(report))


@images_router.post(
    "/api/images/edit-exif",
    response_class=Response,
    openapi_extra=file_body(
        url=False,
        text=text_fields(
            (f.name for f in EDIT_FIELDS),
            keywords={"type": "string", "description": "comma-separated"},
        ),
        mode=MODE,
        webFileName=WEB_FILE_NAME,
    ),
    responses={**_EDITED, **_errors(*_TOOL_ERRORS)},
)
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
    return processed_file(result, blobs, settings)


@images_router.post(
    "/api/images/seo-exif",
    response_class=Response,
    openapi_extra=file_body(
        url=False,
        required=[f.name for f in SEO_FIELDS],
        text=text_fields(
            (f.name for f in SEO_FIELDS),
            keywords={"type": "string", "description": "comma-separated"},
            url={"type": "string", "format": "uri"},
        ),
        webFileName=WEB_FILE_NAME,
    ),
    responses={**_EDITED, **_errors(*_TOOL_ERRORS)},
)
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
    return processed_file(result, blobs, settings)


@images_router.post(
    "/api/images/advanced-edit",
    response_class=Response,
    openapi_extra=file_body(
        url=False, required=["fields"], fields=FIELDS_JSON, mode=MODE, webFileName=WEB_FILE_NAME
    ),
    responses={**_EDITED, **_errors(*_TOOL_ERRORS)},
)
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
    return processed_file(result, blobs, settings)


@images_router.post(
    "/api/images/geo-exif",
    response_class=Response,
    openapi_extra=file_body(
        url=False,
        required=["latitude", "longitude"],
        latitude={"type": "number", "minimum": -90, "maximum": 90},
        longitude={"type": "number", "minimum": -180, "maximum": 180},
        altitude={"type": "number", "minimum": -20000, "maximum": 100000, "description": "m"},
        webFileName=WEB_FILE_NAME,
    ),
    responses={**_EDITED, **_errors(*_TOOL_ERRORS)},
)
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
    return processed_file(result, blobs, settings)


@images_router.post(
    "/api/images/strip-exif",
    response_class=Response,
    openapi_extra=file_body(url=False, preset=PRESET, keep=KEEP),
    responses={
        **verified_file_response("The clean file, read back before it was sent", "image/*"),
        **_errors(*_TOOL_ERRORS),
    },
)
def strip_exif(
    account: ImagesAccount,
    upload: SingleUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """The image without its metadata: `preset` (safe by default) and `keep` choose what stays."""
    plan = strip_plan(upload.get("preset"), upload.get("keep"))
    result = process_one(account, "strip-exif", upload.file, strip_operation(pool, plan), blobs)
    return processed_file(result, blobs, settings)


@images_router.post(
    "/api/images/advanced-edit-bulk",
    response_class=Response,
    openapi_extra=file_body(
        many=True, url=False, required=["fields"], fields=FIELDS_JSON, mode=MODE
    ),
    responses={
        **verified_file_response("A ZIP of the edited files", "application/zip"),
        **_errors(*_TOOL_ERRORS),
    },
)
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
    return processed_archive(archive, "edited-images.zip", blobs, settings)


@images_router.post(
    "/api/images/strip-exif-bulk",
    response_class=Response,
    openapi_extra=file_body(many=True, url=False, preset=PRESET, keep=KEEP),
    responses={
        **verified_file_response("A ZIP of the clean files", "application/zip"),
        **_errors(*_TOOL_ERRORS),
    },
)
def strip_exif_bulk(
    account: ImagesAccount,
    upload: BulkUpload,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Response:
    """Up to 20 images without their metadata, returned as a ZIP (Pro); `preset` and `keep` too."""
    plan = strip_plan(upload.get("preset"), upload.get("keep"))
    archive = process_bulk(account, "strip-exif", upload.files, strip_operation(pool, plan), blobs)
    return processed_archive(archive, "cleaned-images.zip", blobs, settings)


@images_router.get(
    "/api/images/history",
    response_class=Response,
    responses={
        200: {
            "model": HistoryList,
            "description": "JSON with `Accept: application/json`, else an HTML fragment",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **_errors(401, 403, 500, 503),
    },
)
def history(request: Request, account: ImagesAccount) -> Response:
    """The caller's last 50 files: JSON with `Accept: application/json`, else an HTML fragment."""
    items = user_history(account)
    now = datetime.now(UTC)
    if "application/json" in request.headers.get("accept", "").lower():
        return JSONResponse(present_history(items, now))
    return HTMLResponse(history_html(items, now))


@images_router.get(
    "/api/images/history/{file_id}/download",
    response_class=Response,
    responses={
        **file_response("The processed file", redirect=302),
        **_errors(401, 403, 404, 410, 500, 503),
    },
)
def history_download(
    file_id: str, account: ImagesAccount, blobs: BlobsDep, settings: SettingsDep
) -> Response:
    """The caller's processed file within 24 hours of processing (410 after, 404 for others)."""
    item = owner_file(account, file_id)
    return kept_file(item.s3_key, item.file_name, item.content_type, blobs, settings)


def _fields_json(raw: str | None) -> Any:
    if not raw or not raw.strip():
        raise BadRequest("fields is required: a JSON object of tag names and values.")
    if len(raw) > _MAX_FIELDS_JSON:
        raise BadRequest("fields is too large.")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest("fields must be valid JSON.") from exc
