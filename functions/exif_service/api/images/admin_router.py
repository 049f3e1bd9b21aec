"""Administrators' view of stored files: the table, any file's download, and the purge."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from exif_service.api.delivery import kept_file
from exif_service.api.deps import BlobsDep, SettingsDep
from exif_service.api.images.deps import AdminAccount
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import (
    IMAGES_ERROR_EXAMPLES,
    ImagesError,
    PurgeResult,
    admin_files_html,
)
from exif_service.api.openapi import error_responses, file_response, ok_response
from exif_service.services.history import admin_files, any_file, parse_status_filter
from exif_service.services.retention import run_purge

admin_router = APIRouter(route_class=ImagesRoute, tags=["admin"])

PURGE_BUDGET_S = 20.0


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, codes)


@admin_router.get(
    "/api/admin/files",
    response_class=Response,
    responses={
        200: {
            "description": "An HTML table of the files",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **_errors(400, 401, 403, 500, 503),
    },
)
def list_files(
    admin: AdminAccount,
    status: str = "all",
    user_id: Annotated[str | None, Query(alias="userId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HTMLResponse:
    """Stored files of every user (or `userId`), newest first, as an HTML table."""
    now = datetime.now(UTC)
    items = admin_files(parse_status_filter(status), user_id, limit, now)
    return HTMLResponse(admin_files_html(items, now))


@admin_router.get(
    "/api/admin/files/{file_id}/download",
    response_class=Response,
    responses={
        **file_response("The stored file", redirect=302),
        **_errors(401, 403, 404, 500, 503),
    },
)
def download_file(
    file_id: str, admin: AdminAccount, blobs: BlobsDep, settings: SettingsDep
) -> Response:
    """Any stored file, until the purge has removed it."""
    item = any_file(file_id)
    return kept_file(item.s3_key, item.file_name, item.content_type, blobs, settings)


@admin_router.post(
    "/api/admin/files/purge",
    responses={**ok_response(PurgeResult, "What the run did"), **_errors(401, 403, 500, 503)},
)
def purge(admin: AdminAccount, settings: SettingsDep) -> JSONResponse:
    """Soft-delete expired files and remove for good those soft-deleted past the grace period."""
    # stop in time to answer within API Gateway's 29 s; `complete: false` says run it again
    deadline = time.monotonic() + PURGE_BUDGET_S
    result = run_purge(
        datetime.now(UTC),
        timedelta(hours=settings.purge_grace_hours),
        should_stop=lambda: time.monotonic() > deadline,
    )
    body = {
        "ok": True,
        "scanned": result.scanned,
        "softDeleted": result.soft_deleted,
        "purged": result.purged,
        "complete": result.complete,
    }
    return JSONResponse(body)
