"""v1 wire format: the report presented as the exiftools.com-style `metadata` object."""

from __future__ import annotations

from typing import Any

from exif_service.domain.jobs import Job
from exif_service.domain.report import MetadataReport

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
