"""Extract/remove jobs in DynamoDB; reports too large for an item are kept in S3."""

from __future__ import annotations

import json
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.store.blobs import Blobs
from exif_service.store.conditional import conditional_write
from exif_service.store.models import Extraction

# DynamoDB items hold 400 KB; leave room for the other attributes. The report may carry its
# structured XMP too (services/extract.py), so the limit is checked on the whole document.
_INLINE_LIMIT = 300 * 1024
_RECORD_TTL = timedelta(days=30)


def save_job(job: Job, blobs: Blobs) -> None:
    _item(job, blobs).save()


def finish_job(job: Job, blobs: Blobs, *, expected: JobStatus) -> bool:
    """Store `job` only if the stored one is still `expected`; False if another run got there."""
    item = _item(job, blobs)
    return conditional_write(lambda: item.save(condition=Extraction.status == expected.value))


def _item(job: Job, blobs: Blobs) -> Extraction:
    item = Extraction(
        uuid=job.uuid,
        owner_id=job.owner_id,
        operation=job.operation.value,
        status=job.status.value,
        file_name=job.file_name,
        result_key=job.result_key,
        content_type=job.content_type,
        error=job.error,
        callback_url=job.callback_url,
        kept=list(job.kept) or None,
        strip_keep=list(job.strip_keep) or None,
        created_at=job.created_at,
        download_expires_at=job.download_expires_at,
        ttl=job.created_at + _RECORD_TTL,
    )
    if job.report is not None:
        encoded = json.dumps(job.report, ensure_ascii=False).encode("utf-8")
        if len(encoded) > _INLINE_LIMIT:
            key = f"reports/{job.uuid}.json"
            blobs.put_bytes(key, encoded, "application/json")
            item.metadata_key = key
        else:
            item.metadata = job.report
    return item


def get_job(job_uuid: str, blobs: Blobs) -> Job | None:
    try:
        item = Extraction.get(job_uuid)
    except DoesNotExist:
        return None
    report = item.metadata
    if report is None and item.metadata_key:
        report = json.loads(blobs.get_bytes(item.metadata_key))
    return Job(
        uuid=item.uuid,
        operation=Operation(item.operation),
        status=JobStatus(item.status),
        file_name=item.file_name,
        owner_id=item.owner_id,
        created_at=item.created_at,
        report=report,
        result_key=item.result_key,
        content_type=item.content_type,
        error=item.error,
        download_expires_at=item.download_expires_at,
        callback_url=item.callback_url,
        kept=tuple(str(k) for k in item.kept or ()),
        strip_keep=tuple(str(k) for k in item.strip_keep or ()),
    )
