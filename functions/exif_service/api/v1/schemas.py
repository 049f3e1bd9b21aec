"""v1 wire format: the report presented as the exiftools.com-style `metadata` object."""

from __future__ import annotations

from typing import Any

from exif_service.api.privacy import PrivacyBody, privacy_body
from exif_service.api.v1.errors import SURFACE
from exif_service.domain.jobs import Job
from exif_service.domain.report import MetadataReport
from exif_service.services.extract import BatchResult
from exif_service.services.privacy import PrivacyReport

# The documented example names these groups in lower case; every other group keeps its name.
_RENAMED = {"EXIF": "exif", "IPTC": "iptc", "XMP": "xmp"}


def present_metadata(report: MetadataReport) -> dict[str, Any]:
    """Groups by family-0 name, with `File` opening on the caller's Name, Size and Type."""
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
    return out


def verification(job: Job) -> dict[str, Any]:
    """`verified` (the engine re-read the clean file) and what stayed for a stated reason."""
    body: dict[str, Any] = {"verified": True}
    if job.kept:
        body["kept"] = list(job.kept)
    return body


def present_job(
    job: Job,
    *,
    lookup: bool = False,
    download_url: str | None = None,
    structured: bool = False,
) -> dict[str, Any]:
    """A stored extraction as POST /extract (or, with `lookup`, GET /extract/{uuid}) shows it.

    `download_url` is shown for a completed remove job (large files processed from S3);
    `structured` shows the XMP group with its structures as objects (`?struct=true`).
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
