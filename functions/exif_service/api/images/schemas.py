"""Images surface wire format: view-exif's flat metadata, history rows, and the HTML fragments.

Everything here is a pure function of domain data. File names and tag values are caller input:
the HTML fragments are Jinja2 templates in web/templates/, rendered with autoescaping on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.privacy import PrivacyBody, privacy_body
from exif_service.domain.fields import GeoPoint
from exif_service.domain.report import MetadataReport
from exif_service.domain.retention import StoredFile, can_download, status_at
from exif_service.services.privacy import PrivacyReport
from exif_service.web.templating import render

_GPS_DECIMALS = 7  # about a centimetre


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class Gps(_Wire):
    lat: float
    lng: float


class ViewExifResponse(_Wire):
    ok: bool = True
    metadata: dict[str, Any]
    gps: Gps | None = None


class HistoryImage(_Wire):
    id: str
    file_name: str = Field(alias="fileName")
    tool: str
    size: int
    content_type: str = Field(alias="contentType")
    created_at: str = Field(alias="createdAt")
    download_expires_at: str = Field(alias="downloadExpiresAt")
    status: str
    can_download: bool = Field(alias="canDownload")
    download_url: str | None = Field(alias="downloadUrl")
    deleted: bool
    soft_deleted_at: str | None = Field(alias="softDeletedAt")


def iso(moment: datetime) -> str:
    """`2026-03-01T12:00:00.000Z`, the timestamp style of the reference."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def present_view(
    report: MetadataReport, gps: GeoPoint | None, *, structured: bool = False
) -> dict[str, Any]:
    """Every tag by bare name; a position also as signed decimal degrees in the tags and `gps`.

    With `structured`, XMP structures are objects (`exiftool -struct`); one whose bare name a
    tag of another group already holds (XMP Flash beside EXIF Flash) is named `XMP:<name>`.
    """
    metadata = _structured_flat(report) if structured else report.flat()
    point = None
    if gps is not None:
        point = Gps(lat=round(gps.lat, _GPS_DECIMALS), lng=round(gps.lng, _GPS_DECIMALS))
        metadata["GPSLatitude"] = point.lat
        metadata["GPSLongitude"] = point.lng
    return ViewExifResponse(metadata=metadata, gps=point).model_dump(by_alias=True)


class PrivacyReportResponse(PrivacyBody):
    """POST /api/images/privacy-report, as the OpenAPI document shows it."""

    ok: bool = True


def present_privacy(report: PrivacyReport) -> dict[str, Any]:
    """POST /api/images/privacy-report: the same report as v1's, behind `ok`."""
    return {"ok": True, **privacy_body(report)}


def _structured_flat(report: MetadataReport) -> dict[str, Any]:
    structured = report.structured()
    metadata = structured.flat()
    for name, value in structured.groups.get("XMP", {}).items():
        is_structure = isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict) for v in value)
        )
        # flat() lets the first group keep a shared name: a structure hidden that way would
        # show less than the flattened default did (FlashFired)
        if is_structure and metadata.get(name) is not value:
            metadata[f"XMP:{name}"] = value
    return metadata


def download_path(item: StoredFile) -> str:
    return f"/api/images/history/{item.file_id}/download"


def history_image(item: StoredFile, now: datetime) -> HistoryImage:
    downloadable = can_download(item, now)
    return HistoryImage(
        id=item.file_id,
        file_name=item.file_name,
        tool=item.tool,
        size=item.size,
        content_type=item.content_type,
        created_at=iso(item.created_at),
        download_expires_at=iso(item.download_expires_at),
        status=status_at(item, now).value,
        can_download=downloadable,
        download_url=download_path(item) if downloadable else None,
        deleted=item.deleted,
        soft_deleted_at=iso(item.soft_deleted_at) if item.soft_deleted_at else None,
    )


def present_history(items: Sequence[StoredFile], now: datetime) -> dict[str, Any]:
    images = [history_image(i, now).model_dump(by_alias=True) for i in items]
    return {"ok": True, "images": images}


def history_html(items: Sequence[StoredFile], now: datetime) -> str:
    """The dashboard's history list as an HTML fragment."""
    return render("history_table.html", rows=[history_image(item, now) for item in items])


def admin_files_html(items: Sequence[StoredFile], now: datetime) -> str:
    """Every stored file with owner, status and a download link, for administrators."""
    rows = [(item, status_at(item, now).value, iso(item.created_at)) for item in items]
    return render("admin_files_table.html", rows=rows)
