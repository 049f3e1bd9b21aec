"""Extract a file's metadata and keep the result under a uuid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from exif_service.domain.errors import NotFound
from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import read_metadata
from exif_service.services.sources import LocalFile
from exif_service.store.blobs import Blobs
from exif_service.store.jobs import get_job, save_job


def extract_file(pool: ExifToolPool, local: LocalFile, owner_id: str | None, blobs: Blobs) -> Job:
    """Read the file's metadata, store it as a completed extraction, and return it."""
    job = run_extraction(pool, local, str(uuid.uuid4()), owner_id)
    save_job(job, blobs)
    return job


def run_extraction(
    pool: ExifToolPool, local: LocalFile, job_uuid: str, owner_id: str | None
) -> Job:
    """The completed extraction job of a local file (not stored yet)."""
    # The file is not kept, so a later lookup with `?struct=true` can only answer from the
    # record: the structured XMP group is read now (one extra XMP-only read, about 3 ms warm,
    # for files with XMP) and stored beside the flat groups only when it reads differently
    # (structures, or one-item lists the flat form shows as a value). It lives in the same
    # report document, so store/jobs.py's spill to S3 covers both when they outgrow an item.
    report = read_metadata(pool, local.path, file_name=local.file_name, structures=True)
    return Job(
        uuid=job_uuid,
        operation=Operation.EXTRACT,
        status=JobStatus.COMPLETED,
        file_name=local.file_name,
        owner_id=owner_id,
        created_at=datetime.now(UTC),
        report=report.to_dict(),
    )


def find_extraction(job_uuid: str, owner_id: str | None, blobs: Blobs) -> Job:
    """A stored job by uuid; with an owner, only that owner's jobs are found."""
    job = get_job(job_uuid, blobs) if _is_uuid(job_uuid) else None
    if job is None or (owner_id is not None and job.owner_id != owner_id):
        raise NotFound("No extraction found with the given UUID.")
    return job


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
