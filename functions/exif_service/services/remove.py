"""Strip a file's metadata, keep the clean copy for 24 hours, and serve it back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exif_service.domain.accounts import Account
from exif_service.domain.errors import Gone, NotFound
from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.domain.privacy import StripPlan
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import strip_metadata
from exif_service.engine.workspace import safe_extension
from exif_service.services.quota import Charge, charge_account
from exif_service.services.sources import LocalFile, Source, materialize
from exif_service.settings import get_settings
from exif_service.store.blobs import Blobs
from exif_service.store.jobs import discard_job, get_job, save_job


@dataclass(frozen=True)
class CleanedFile:
    key: str
    file_name: str
    content_type: str
    content_credentials: str = "none"  # what the strip did with a C2PA manifest


def remove_source(
    pool: ExifToolPool, source: Source, owner: Account, blobs: Blobs, plan: StripPlan
) -> Job:
    """Charge one image, strip the caller's upload or URL by `plan`, and return the stored job."""
    with charge_account(owner) as charged, materialize(source) as local:
        return remove_metadata(pool, local, owner.user_id, blobs, charged, plan)


def remove_metadata(
    pool: ExifToolPool,
    local: LocalFile,
    owner_id: str | None,
    blobs: Blobs,
    charged: Charge,
    plan: StripPlan = StripPlan(),
) -> Job:
    """Strip the file, store the clean copy under `results/`, and record the job.

    The strip runs while `charged` is still on its way; the clean copy waits for it. The record
    that makes the download visible is written last; if it cannot be written, it and the clean
    copy are removed again (the 1-day rule on `results/` is the backstop).
    """
    job = run_removal(pool, local, str(uuid.uuid4()), owner_id, blobs, plan, charged)
    try:
        save_job(job, blobs)
    except Exception:
        discard_job(job, blobs)
        raise
    return job


def run_removal(
    pool: ExifToolPool,
    local: LocalFile,
    job_uuid: str,
    owner_id: str | None,
    blobs: Blobs,
    plan: StripPlan,
    charged: Charge,
) -> Job:
    """Strip the file and store the clean copy once `charged` holds; returns the completed job
    (not stored yet)."""
    clean = local.workdir / f"clean.{safe_extension(local.file_name)}"
    result = strip_metadata(pool, local.path, clean, plan)
    charged.confirm()
    key = f"results/{job_uuid}/clean.{safe_extension(local.file_name)}"
    blobs.put_file(key, clean, result.mime_type)
    now = datetime.now(UTC)
    return Job(
        uuid=job_uuid,
        operation=Operation.REMOVE,
        status=JobStatus.COMPLETED,
        file_name=local.file_name,
        owner_id=owner_id,
        created_at=now,
        result_key=key,
        content_type=result.mime_type,
        download_expires_at=now + timedelta(hours=get_settings().download_ttl_hours),
        kept=result.kept,
        content_credentials=result.content_credentials.value,
    )


def cleaned_file(job_uuid: str, blobs: Blobs, now: datetime | None = None) -> CleanedFile:
    """The clean file of a remove job while its 24-hour window is open."""
    try:
        uuid.UUID(job_uuid)
    except ValueError as exc:
        raise NotFound("No cleaned file found with the given UUID.") from exc
    job = get_job(job_uuid, blobs)
    if job is None or job.operation is not Operation.REMOVE or job.result_key is None:
        raise NotFound("No cleaned file found with the given UUID.")
    expires = job.download_expires_at
    if expires is not None and (now or datetime.now(UTC)) >= expires:
        raise Gone("The cleaned file has expired: downloads are kept for 24 hours.")
    return CleanedFile(
        key=job.result_key,
        file_name=job.file_name,
        content_type=job.content_type or "application/octet-stream",
        content_credentials=job.content_credentials,
    )
