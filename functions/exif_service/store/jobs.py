"""Extract/remove jobs in DynamoDB; reports too large for an item are kept in S3."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from exif_service.domain.errors import StoreUnavailable
from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.store.blobs import Blobs
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults, translated
from exif_service.store.models import Extraction

# DynamoDB items hold 400 KB; leave room for the other attributes. The report may carry its
# structured XMP too (services/extract.py), so the limit is checked on the whole document.
_INLINE_LIMIT = 300 * 1024
_RECORD_TTL = timedelta(days=30)
_REPORTS = "reports/"

log = logging.getLogger(__name__)


@translate_faults
def save_job(job: Job, blobs: Blobs) -> None:
    """Store a job; its spilled report (if any) is written before the row that points at it.

    If this raises, the caller undoes it with `discard_job`.
    """
    _item(job, blobs).save()


def discard_job(job: Job, blobs: Blobs) -> bool:
    """Undo a job whose saving failed: the row, then the objects it names; False if the row
    could not be removed, and then the objects are kept too (a lost answer may have hidden a
    write that happened, and a row must never point at nothing; lifecycle rules expire them)."""
    try:
        with translated():
            Extraction(uuid=job.uuid).delete()
    except StoreUnavailable:
        log.warning("could not undo job %s after a storage fault", job.uuid)
        return False
    for key in (job.result_key, f"{_REPORTS}{job.uuid}.json"):
        if key:
            blobs.delete_quietly(key)
    return True


def finish_job(job: Job, blobs: Blobs, *, expected: JobStatus) -> bool:
    """Store `job` only if the stored one is still `expected`; False if another run got there.

    A fault raises `StoreUnavailable` and leaves the stored job as it was (still `expected`),
    so a retry can finish it; a spilled report stays (a retry writes the same key again).
    """
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
        content_credentials=job.content_credentials,
        created_at=job.created_at,
        download_expires_at=job.download_expires_at,
        ttl=job.created_at + _RECORD_TTL,
    )
    if job.report is not None:
        encoded = json.dumps(job.report, ensure_ascii=False).encode("utf-8")
        if len(encoded) > _INLINE_LIMIT:
            # written before the row that points at it, so a visible job always has its report
            key = f"{_REPORTS}{job.uuid}.json"
            blobs.put_bytes(key, encoded, "application/json")
            item.metadata_key = key
        else:
            item.metadata = job.report
    return item


@translate_faults
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
        content_credentials=item.content_credentials or "none",
    )
