"""v1 wire format: the report presented as the exiftools.com-style `metadata` object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.openapi import wire_config
from exif_service.api.privacy import PrivacyBody, privacy_body
from exif_service.api.provenance import ProvenanceFields, place_body, provenance_body
from exif_service.api.v1.errors import SURFACE
from exif_service.domain.jobs import Job
from exif_service.domain.provenance import Located
from exif_service.domain.report import MetadataReport
from exif_service.services.extract import BatchResult
from exif_service.services.privacy import PrivacyReport

# The documented example names these groups in lower case; every other group keeps its name.
_RENAMED = {"EXIF": "exif", "IPTC": "iptc", "XMP": "xmp"}


def present_metadata(report: MetadataReport) -> dict[str, Any]:
    """Groups by family-0 name, with `File` opening on the caller's Name, Size and Type, and
    `provenance` (Content Credentials and the AI label) after them."""
    out: dict[str, Any] = {}
    for group, tags in report.groups.items():
        if group == "File":
            out["File"] = {
                "Name": report.file_name,
                "Size": report.size,
                "Type": report.mime_type,
                **tags,
            }
        else:
            out[_RENAMED.get(group, group)] = dict(tags)
    if "File" not in out:
        out["File"] = {"Name": report.file_name, "Size": report.size, "Type": report.mime_type}
    out["provenance"] = provenance_body(report)
    return out


def verification(job: Job) -> dict[str, Any]:
    """`verified` (the engine re-read the clean file) and what stayed for a stated reason."""
    body: dict[str, Any] = {"verified": True, "contentCredentials": job.content_credentials}
    if job.kept:
        body["kept"] = list(job.kept)
    return body


def present_job(
    job: Job,
    *,
    lookup: bool = False,
    download_url: str | None = None,
    structured: bool = False,
    geolocation: bool = False,
    located: Located | None = None,
) -> dict[str, Any]:
    """A stored extraction as POST /extract (or, with `lookup`, GET /extract/{uuid}) shows it.

    `download_url` is shown for a completed remove job (large files processed from S3);
    `structured` shows the XMP group with its structures as objects (`?struct=true`);
    `geolocation` adds the `located` place and local capture time (`?geolocation=true`).
    """
    body: dict[str, Any] = {
        "success": job.status.value != "failed",
        "status": job.status.value,
        "fileName": job.file_name,
        "uuid": job.uuid,
    }
    if lookup:
        body["filename"] = job.file_name  # the GET example spells it this way
        body["operation"] = job.operation.value
    if job.report is not None:
        report = MetadataReport.from_dict(job.report)
        body["metadata"] = present_metadata(report.structured() if structured else report)
        if geolocation:
            body["metadata"].update(place_body(located))
    if download_url and job.result_key and job.status.value == "completed":
        body["downloadUrl"] = download_url
        body.update(verification(job))
    if job.error:
        body["error"] = job.error
    return body


# A URL is echoed back so the caller can match results to inputs; one the fetcher refused for
# its length is not worth sending back whole.
_MAX_ECHOED_URL = 2048


def present_batch(results: list[BatchResult], *, structured: bool = False) -> dict[str, Any]:
    """POST /extract/batch: one entry per input, in order, each as POST /extract shows it.

    A failed input carries its `error` and the status a single extract of it would have had.
    """
    out: list[dict[str, Any]] = []
    for result in results:
        item: dict[str, Any]
        if result.job is not None:
            item = present_job(result.job, structured=structured)
        else:
            assert result.error is not None
            item = {"success": False, "status": "failed"}
            if result.file_name is not None:
                item["fileName"] = result.file_name
            item["error"] = result.error.message
            item["httpStatus"] = SURFACE.status_for(result.error)
        if result.url is not None:
            item["url"] = result.url[:_MAX_ECHOED_URL]
        out.append(item)
    return {"success": True, "results": out}


class PrivacyResponse(PrivacyBody):
    """POST /api/v1/privacy, as the OpenAPI document shows it."""

    success: bool = True


def present_privacy(report: PrivacyReport) -> dict[str, Any]:
    """POST /api/v1/privacy: the privacy report behind `success`."""
    return {"success": True, **privacy_body(report)}


# ---------------------------------------------------------------- wire models for the OpenAPI
# document (the presenters above build the bodies; these describe them, with examples trimmed
# from real answers of this service)

_METADATA_EXAMPLE: dict[str, Any] = {
    "File": {
        "Name": "photo.jpg",
        "Size": 16324,
        "Type": "image/jpeg",
        "FileType": "JPEG",
        "ImageWidth": 320,
        "ImageHeight": 240,
    },
    "exif": {
        "Make": "Canon",
        "Model": "Canon EOS R5",
        "Artist": "Jane Doe",
        "DateTimeOriginal": "2024:03:15 10:30:00",
        "GPSLatitude": "48 deg 51' 23.76\"",
        "GPSLongitude": "2 deg 21' 7.92\"",
    },
    "iptc": {"By-line": "Jane Doe", "CopyrightNotice": "(c) 2024 Jane Doe"},
    "xmp": {"Creator": "Jane Doe", "Title": "Paris"},
}
_UUID = "81a5a0e9-1e60-4960-b0be-20d8a4d0f23c"


class _Doc(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class V1Error(_Doc):
    """Every v1 error: `success` false and a message; 5xx add the request id of the log line."""

    success: bool = False
    error: str
    request_id: str | None = Field(default=None, alias="requestId")
    upgrade_url: str | None = Field(default=None, alias="upgradeUrl")


V1_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"success": False, "error": "Provide a file (multipart field 'file') or a url."},
    401: {"success": False, "error": "Invalid API key"},
    403: {
        "success": False,
        "error": "API access requires the Pro plan. Upgrade your plan to use API keys.",
        "upgradeUrl": "/pricing",
    },
    404: {"success": False, "error": "No extraction found with the given UUID."},
    413: {"success": False, "error": "File too large: the limit is 25 MB."},
    415: {
        "success": False,
        "error": "This file type is not supported: it is not an image or media file.",
    },
    429: {
        "success": False,
        "error": "Daily limit of 300 images reached. Upgrade your plan for more.",
        "upgradeUrl": "/pricing",
    },
    500: {
        "success": False,
        "error": "An error occurred while processing your request",
        "requestId": "b2ba70a2fd6e402594fa2e44294935b0",
    },
}


_GROUP: dict[str, Any] = {"type": "object", "additionalProperties": True}


class V1Metadata(_Doc, ProvenanceFields):
    """Tags by family-0 group (File, exif, iptc, xmp, ICC_Profile, ...), then provenance, and
    with `?geolocation=true` the place and local capture time."""

    # every other member is a group of tags: an object, as the generated clients type it
    model_config = ConfigDict(
        populate_by_name=True,
        extra="allow",
        json_schema_extra={"additionalProperties": _GROUP},
    )


_CREDENTIALS_OUTCOME = (
    "what the strip did with the file's Content Credentials: removed, kept (`keep=c2pa`) "
    "or none (it had none)"
)


class Extraction(_Doc):
    """POST /api/v1/extract: the file's metadata by group (family 0), and the job's uuid."""

    model_config = wire_config(
        {
            "success": True,
            "status": "completed",
            "fileName": "photo.jpg",
            "uuid": _UUID,
            "metadata": _METADATA_EXAMPLE,
        }
    )

    success: bool
    status: str = Field(description="completed, failed, or processing (presigned uploads)")
    file_name: str = Field(alias="fileName")
    uuid: str
    metadata: V1Metadata | None = Field(
        default=None, description="tags by group: File, exif, iptc, xmp, ICC_Profile, ..."
    )
    error: str | None = None


class ExtractionLookup(Extraction):
    """GET /api/v1/extract/{uuid}: a stored job; a finished remove job links its clean file."""

    model_config = wire_config(
        {
            "success": True,
            "status": "completed",
            "fileName": "photo.jpg",
            "uuid": _UUID,
            "filename": "photo.jpg",
            "operation": "extract",
            "metadata": _METADATA_EXAMPLE,
        }
    )

    filename: str
    operation: str = Field(description="extract or remove")
    download_url: str | None = Field(default=None, alias="downloadUrl")
    verified: bool | None = None
    kept: list[str] | None = None
    content_credentials: Literal["removed", "kept", "none"] | None = Field(
        default=None, alias="contentCredentials", description=_CREDENTIALS_OUTCOME
    )


class BatchItem(_Doc):
    """One input of a batch, as POST /extract shows it, or its failure and would-be status."""

    success: bool
    status: str
    file_name: str | None = Field(default=None, alias="fileName")
    uuid: str | None = None
    metadata: dict[str, dict[str, Any]] | None = None
    error: str | None = None
    http_status: int | None = Field(default=None, alias="httpStatus")
    url: str | None = None


class BatchExtraction(_Doc):
    """POST /api/v1/extract/batch: one result per input, files first, then URLs."""

    model_config = wire_config(
        {
            "success": True,
            "results": [
                {
                    "success": True,
                    "status": "completed",
                    "fileName": "photo.jpg",
                    "uuid": "a85d0ee0-dcc4-4680-a549-90d95499258e",
                    "metadata": {"File": {"Name": "photo.jpg", "Size": 16324}},
                },
                {
                    "success": False,
                    "status": "failed",
                    "error": "The url points to a private or reserved address, "
                    "which is not allowed.",
                    "httpStatus": 400,
                    "url": "http://127.0.0.1/x.jpg",
                },
            ],
        }
    )

    success: bool
    results: list[BatchItem]


class Removal(_Doc):
    """POST /api/v1/remove: where to download the clean file for 24 hours."""

    model_config = wire_config(
        {
            "success": True,
            "status": "completed",
            "uuid": "bf2c6664-84f5-4ed6-9687-ad926c74681a",
            "fileName": "photo.jpg",
            "downloadUrl": "https://api.example.com/download-cleaned/"
            "bf2c6664-84f5-4ed6-9687-ad926c74681a",
            "verified": True,
            "contentCredentials": "none",
        }
    )

    success: bool
    status: str
    uuid: str
    file_name: str = Field(alias="fileName")
    download_url: str = Field(alias="downloadUrl")
    verified: bool = Field(description="the engine re-read the clean file")
    kept: list[str] | None = Field(default=None, description="what stayed, and why")
    content_credentials: Literal["removed", "kept", "none"] = Field(
        alias="contentCredentials", description=_CREDENTIALS_OUTCOME
    )


class UploadTarget(_Doc):
    method: str
    url: str
    fields: dict[str, str] = Field(description="send these form fields, then `file`, last")
    max_bytes: int = Field(alias="maxBytes")
    expires_in: int = Field(alias="expiresIn", description="seconds")


class UploadGrant(_Doc):
    """POST /api/v1/uploads: a presigned S3 POST for one file, and where to follow its job."""

    model_config = wire_config(
        {
            "success": True,
            "status": "processing",
            "uuid": "fe606204-9307-4af8-b9bd-0bad00a15a6e",
            "operation": "remove",
            "fileName": "big.jpg",
            "upload": {
                "method": "POST",
                "url": "https://exif-service-files.s3.amazonaws.com/",
                "fields": {
                    "key": "uploads/fe606204-9307-4af8-b9bd-0bad00a15a6e/safe.jpg",
                    "x-amz-algorithm": "AWS4-HMAC-SHA256",
                    "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMjlUMDA6MDg6NDZaIi...",
                    "x-amz-signature": "bfe5776c48ad048e6dc81673d6ec8fb2...",
                },
                "maxBytes": 524288000,
                "expiresIn": 900,
            },
            "statusUrl": "https://api.example.com/api/v1/extract/"
            "fe606204-9307-4af8-b9bd-0bad00a15a6e",
        }
    )

    success: bool
    status: str
    uuid: str
    operation: str
    file_name: str = Field(alias="fileName")
    upload: UploadTarget
    status_url: str = Field(alias="statusUrl")
