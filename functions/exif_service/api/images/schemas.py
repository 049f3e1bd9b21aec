"""Images surface wire format: view-exif's flat metadata, history rows, and the HTML fragments.

Everything here is a pure function of domain data. File names and tag values are caller input:
the HTML fragments are Jinja2 templates in web/templates/, rendered with autoescaping on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.config import JsonDict

from exif_service.api.openapi import wire_config
from exif_service.api.privacy import PrivacyBody, privacy_body
from exif_service.api.provenance import ProvenanceFields, place_body, provenance_body
from exif_service.domain.fields import GeoPoint
from exif_service.domain.provenance import Located
from exif_service.domain.report import MetadataReport
from exif_service.domain.retention import StoredFile, can_download, status_at
from exif_service.services.privacy import PrivacyReport

_GPS_DECIMALS = 7  # about a centimetre


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class Gps(_Wire):
    lat: float
    lng: float


class _ViewExifGroups(_Wire):
    ok: bool = True
    metadata: dict[str, Any]
    gps: Gps | None = None


class ViewExifResponse(ProvenanceFields, _ViewExifGroups):  # the groups' members come first
    privacy: PrivacyBody | None = Field(
        default=None, description="with `?privacy=true`: the file's privacy report"
    )


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
    report: MetadataReport,
    gps: GeoPoint | None,
    *,
    structured: bool = False,
    geolocation: bool = False,
    located: Located | None = None,
) -> dict[str, Any]:
    """Every tag by bare name; a position also as signed decimal degrees in the tags and `gps`;
    `provenance` beside it, and with `geolocation` the `place` and `capturedAtLocal`.

    With `structured`, XMP structures are objects (`exiftool -struct`); one whose bare name a
    tag of another group already holds (XMP Flash beside EXIF Flash) is named `XMP:<name>`.
    """
    metadata = _structured_flat(report) if structured else report.flat()
    point = None
    if gps is not None:
        point = Gps(lat=round(gps.lat, _GPS_DECIMALS), lng=round(gps.lng, _GPS_DECIMALS))
        metadata["GPSLatitude"] = point.lat
        metadata["GPSLongitude"] = point.lng
    body = ViewExifResponse(metadata=metadata, gps=point).model_dump(by_alias=True)
    del body["place"], body["capturedAtLocal"], body["privacy"]  # present only when asked for
    body["provenance"] = provenance_body(report)
    if geolocation:
        body.update(place_body(located))
    return body


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
    from exif_service.web.templating import render  # Jinja2 only where a fragment is drawn

    return render("history_table.html", rows=[history_image(item, now) for item in items])


def admin_files_html(items: Sequence[StoredFile], now: datetime) -> str:
    """Every stored file with owner, status and a download link, for administrators."""
    rows = [(item, status_at(item, now).value, iso(item.created_at)) for item in items]
    from exif_service.web.templating import render

    return render("admin_files_table.html", rows=rows)


# ---------------------------------------------------------------- wire models for the OpenAPI
# document (the routes build these bodies; the models describe them, with examples trimmed
# from real answers of this service)


class ImagesError(_Wire):
    """Every error of this surface; a used-up plan names the upgrade, 5xx carry a request id."""

    ok: bool = False
    message: str
    error: str | None = Field(default=None, description="limit_reached or plan_required")
    upgrade_url: str | None = Field(default=None, alias="upgradeUrl")
    request_id: str | None = Field(default=None, alias="requestId")


IMAGES_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"ok": False, "message": "latitude must be between -90 and 90."},
    401: {"ok": False, "message": "Unauthorized: sign in or send a valid API key."},
    403: {
        "ok": False,
        "message": "API access requires the Pro plan. Upgrade your plan to use API keys.",
        "error": "plan_required",
        "upgradeUrl": "/pricing",
    },
    404: {"ok": False, "message": "Not found."},
    413: {"ok": False, "message": "File too large: the limit is 25 MB."},
    415: {
        "ok": False,
        "message": "This file type is not supported: it is not an image or media file.",
    },
    429: {
        "ok": False,
        "message": "Daily limit of 5 images reached. Upgrade your plan for more.",
        "error": "limit_reached",
        "upgradeUrl": "/pricing",
    },
    503: {
        "ok": False,
        "message": "Billing is not configured on this server: set the Stripe settings to "
        "enable it.",
        "requestId": "c8c9a9634563422f941d043e3c94eadd",
    },
}

VIEW_EXIF_EXAMPLE: dict[str, Any] = {
    "ok": True,
    "metadata": {
        "FileName": "photo.jpg",
        "FileType": "JPEG",
        "ImageWidth": 320,
        "ImageHeight": 240,
        "Make": "Canon",
        "Model": "Canon EOS R5",
        "Artist": "Jane Doe",
        "GPSLatitude": 48.8566,
        "GPSLongitude": 2.3522,
        "Title": "Paris",
    },
    "gps": {"lat": 48.8566, "lng": 2.3522},
}


class HistoryList(_Wire):
    """GET /api/images/history with `Accept: application/json`: the last 50 files."""

    model_config = wire_config(
        {
            "ok": True,
            "images": [
                {
                    "id": "3ce609e745ef476585d51e27c57f23da",
                    "fileName": "photo.jpg",
                    "tool": "edit-exif",
                    "size": 16342,
                    "contentType": "image/jpeg",
                    "createdAt": "2026-11-28T23:53:46.953Z",
                    "downloadExpiresAt": "2026-11-29T23:53:46.953Z",
                    "status": "available",
                    "canDownload": True,
                    "downloadUrl": "/api/images/history/3ce609e745ef476585d51e27c57f23da/download",
                    "deleted": False,
                    "softDeletedAt": None,
                }
            ],
        },
        frozen=True,
    )

    ok: bool = True
    images: list[HistoryImage]


class ApiKeyView(_Wire):
    id: str
    name: str | None
    masked_key: str = Field(alias="maskedKey")
    created_at: str = Field(alias="createdAt")
    last_used_at: str | None = Field(alias="lastUsedAt")


_KEY_EXAMPLE: JsonDict = {
    "id": "079aa72815844a20",
    "name": "ci",
    "maskedKey": "exs_ohhd\u2026fMTk",
    "createdAt": "2026-11-28T23:53:45.839Z",
    "lastUsedAt": "2026-11-28T23:53:46.285Z",
}


class KeyList(_Wire):
    """GET /api/keys: the caller's keys, masked, newest first."""

    model_config = wire_config({"ok": True, "keys": [_KEY_EXAMPLE]}, frozen=True)

    ok: bool = True
    keys: list[ApiKeyView]


class CreatedKey(_Wire):
    """POST /api/keys: the raw key, shown in this answer only."""

    model_config = wire_config(
        {
            "ok": True,
            "key": "exs_ohhdQ0m3Yb0sV5JrFh1r2CkPq7WnXzLtfMTk",
            "apiKey": {**_KEY_EXAMPLE, "lastUsedAt": None},
        },
        frozen=True,
    )

    ok: bool = True
    key: str
    api_key: ApiKeyView = Field(alias="apiKey")


class Done(_Wire):
    """An action that has nothing more to say."""

    ok: bool = True


class UserView(_Wire):
    id: str
    email: str
    plan: str = Field(description="free or pro")
    is_admin: bool = Field(alias="isAdmin")
    created_at: str = Field(alias="createdAt")


class SessionEnd(_Wire):
    expires_at: str = Field(alias="expiresAt")


_USER_EXAMPLE: JsonDict = {
    "id": "b1a8403ff17b425db7e53094f275f732",
    "email": "new@example.com",
    "plan": "free",
    "isAdmin": False,
    "createdAt": "2026-11-28T23:53:47.107Z",
}


class SignedIn(_Wire):
    """Sign-up and sign-in: the account, and when the session (set as a cookie) ends."""

    model_config = wire_config(
        {
            "ok": True,
            "user": _USER_EXAMPLE,
            "session": {"expiresAt": "2026-12-28T23:53:47.109Z"},
        },
        frozen=True,
    )

    ok: bool = True
    user: UserView
    session: SessionEnd


class CurrentSession(SignedIn):
    """GET /api/auth/get-session when signed in (signed out, the body is `null`)."""

    model_config = wire_config(
        {
            "ok": True,
            "user": _USER_EXAMPLE,
            "plan": "free",
            "session": {"expiresAt": "2026-12-28T23:53:47.109Z"},
        },
        frozen=True,
    )

    plan: str


class PlanLimits(_Wire):
    free: int
    pro: int


class BillingStatus(_Wire):
    """GET /api/billing/status: plan, today's usage and the limits."""

    model_config = wire_config(
        {
            "ok": True,
            "plan": "pro",
            "usage": 7,
            "limit": 300,
            "remaining": 293,
            "resetsAt": "2026-11-29T00:00:00.000Z",
            "limits": {"free": 5, "pro": 300},
        },
        frozen=True,
    )

    ok: bool = True
    plan: str
    usage: int
    limit: int
    remaining: int
    resets_at: str = Field(alias="resetsAt")
    limits: PlanLimits


class Link(_Wire):
    """Where to send the browser (Stripe Checkout or the billing portal)."""

    ok: bool = True
    url: str


class WebhookAck(_Wire):
    ok: bool = True
    received: bool
    duplicate: bool = Field(description="the event was applied before")


class FeedbackAck(_Wire):
    ok: bool = True
    id: str


class PurgeResult(_Wire):
    """POST /api/admin/files/purge; `complete: false` means run it again."""

    model_config = wire_config(
        {"ok": True, "scanned": 2, "softDeleted": 0, "purged": 0, "complete": True}, frozen=True
    )

    ok: bool = True
    scanned: int
    soft_deleted: int = Field(alias="softDeleted")
    purged: int
    complete: bool


class SessionOrNull(RootModel[CurrentSession | None]):
    """GET /api/auth/get-session: the session, or `null` when signed out."""
