"""Extract a file's metadata and keep the result under a uuid, one file or a batch."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from exif_service.domain.accounts import Account
from exif_service.domain.errors import (
    BadRequest,
    EngineFailure,
    NotFound,
    QuotaExceeded,
    ServiceError,
    ServiceUnavailable,
)
from exif_service.domain.fields import MAX_BULK_FILES
from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.domain.provenance import Located, captured_at_local, position_of
from exif_service.domain.report import MetadataReport
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import read_metadata
from exif_service.engine.provenance import reverse_geocode
from exif_service.services.quota import Charge, charge_account, refund_user, used_today
from exif_service.services.sources import LocalFile, Source, display_name, materialize
from exif_service.store.blobs import Blobs
from exif_service.store.jobs import discard_job, get_job, save_job

log = logging.getLogger(__name__)

MAX_BATCH = MAX_BULK_FILES  # the same 20 as the image tools' bulk endpoints

# API Gateway gives up on a synchronous request after 30 s (the function's timeout is 29 s), and
# a Lambda killed mid-batch never gives back what it charged: inputs not started within this
# budget are answered as not processed (and refunded) so the response always arrives.
BATCH_BUDGET_S = 20.0


@dataclass(frozen=True)
class BatchResult:
    """One input of a batch: what the caller sent (a file name or a URL) and how it went."""

    file_name: str | None = None
    url: str | None = None
    job: Job | None = None
    error: ServiceError | None = None


def extract_source(pool: ExifToolPool, source: Source, owner: Account, blobs: Blobs) -> Job:
    """Charge one image, extract the caller's upload or URL, and return the stored job."""
    with charge_account(owner) as charged, materialize(source) as local:
        return extract_file(pool, local, owner.user_id, blobs, charged)


def extract_file(
    pool: ExifToolPool, local: LocalFile, owner_id: str | None, blobs: Blobs, charged: Charge
) -> Job:
    """Read the file's metadata, store it as a completed extraction, and return it.

    The read runs while `charged` is still on its way; the record waits for it.
    """
    job = run_extraction(pool, local, str(uuid.uuid4()), owner_id)
    charged.confirm()
    try:
        save_job(job, blobs)
    except Exception:
        discard_job(job, blobs)  # a report spilled to S3 goes with it
        raise
    return job


def run_extraction(
    pool: ExifToolPool, local: LocalFile, job_uuid: str, owner_id: str | None
) -> Job:
    """The completed extraction job of a local file (not stored yet)."""
    # The file is not kept, so a later lookup with `?struct=true` can only answer from the
    # record: the structured XMP group is taken now, from the same ExifTool read as the flat
    # report (engine/operations.py; a second read only for the shapes domain/structures.py
    # cannot split with certainty), and stored beside the flat groups only when it reads differently
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


def extract_batch(
    pool: ExifToolPool, sources: Sequence[Source], owner: Account, blobs: Blobs
) -> list[BatchResult]:
    """Extract and store every input in order; a bad input fails alone and is given back.

    Every input is charged up front, as the bulk image tools do, so a batch the day's allowance
    cannot cover is refused whole (429) before any work; the failed inputs are refunded at the
    end. An unexpected fault (not a domain error) fails the request and refunds everything.
    """
    if not sources:
        raise BadRequest("Provide at least one file (multipart field 'file') or URL ('urls').")
    if len(sources) > MAX_BATCH:
        raise BadRequest(f"Too many inputs: at most {MAX_BATCH} files and URLs per request.")
    charged_at = datetime.now(UTC)
    try:
        with charge_account(owner, units=len(sources)) as charged:
            results = _run_batch(pool, sources, owner.user_id, blobs, charged)
    except QuotaExceeded as exc:
        left = max(exc.limit - used_today(owner), 0)
        raise QuotaExceeded(
            f"This batch needs {len(sources)} images but {left} of today's {exc.limit} are "
            "left. Send fewer inputs or upgrade your plan for more.",
            exc.limit,
        ) from exc
    failed = sum(1 for result in results if result.job is None)
    if failed:
        # after the charge block, so a fault there can never refund these units twice
        refund_user(owner.user_id, charged_at, failed)
    return results


def _run_batch(
    pool: ExifToolPool, sources: Sequence[Source], owner_id: str, blobs: Blobs, charged: Charge
) -> list[BatchResult]:
    started = time.monotonic()
    results: list[BatchResult] = []
    for index, source in enumerate(sources):
        # the first input always runs, so every batch makes progress
        if index and time.monotonic() - started > BATCH_BUDGET_S:
            late = ServiceUnavailable(
                "Not processed: the batch ran out of time. Send this input again."
            )
            results.append(_failed(source, late))
            continue
        try:
            with materialize(source) as local:
                job = extract_file(pool, local, owner_id, blobs, charged)
        except ServiceError as exc:
            # a refused or failed charge is the whole batch's answer, not this input's
            charged.confirm()
            if isinstance(exc, EngineFailure):
                log.exception("batch input %d: the engine failed", index)
            else:
                log.info("batch input %d refused: %s", index, type(exc).__name__)
            results.append(_failed(source, exc))
            continue
        results.append(BatchResult(file_name=job.file_name, url=source.url, job=job))
    return results


def _failed(source: Source, error: ServiceError) -> BatchResult:
    name = display_name(source.file_name) if source.stream is not None else None
    return BatchResult(file_name=name, url=source.url, error=error)


def locate(
    pool: ExifToolPool, report: MetadataReport, position: tuple[float, float] | None = None
) -> Located | None:
    """The place nearest the file's position (or `position`) from ExifTool's offline database,
    and its capture time in that place's zone when the file gave none; None without a position.

    Called only when a caller asks (`?geolocation=true`): a plain extract pays nothing.
    """
    point = position or position_of(report.groups)
    if point is None:
        return None
    place = reverse_geocode(pool, *point)
    if place is None:
        return None
    return Located(place, captured_at_local(report.groups, place.time_zone))


def locate_job(pool: ExifToolPool, job: Job) -> Located | None:
    """`locate` for a stored extraction (its report holds the position ExifTool printed)."""
    if job.report is None:
        return None
    return locate(pool, MetadataReport.from_dict(job.report))
