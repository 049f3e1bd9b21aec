"""Large files through S3: a presigned POST into `uploads/`, then the S3 event runs the engine.

The job is recorded as `processing` when the upload is granted (and the image charged then).
The object key carries the job's uuid and what to do, so the S3 event needs nothing else:
`uploads/<uuid>/<mode>.<ext>` with mode `read` (extract) or the strip mode `safe`/`none`.
A job leaves `processing` exactly once (a conditional write), so a repeated S3 event does no
harm. A file the engine cannot handle makes the job `failed` with the reason, gives the image
back, and leaves the upload in place (the 1-day lifecycle rule removes it). A storage fault is
not the file's fault: it is raised, the job stays `processing` with its upload, and the event's
retry runs it again; the result is written before the record that completes the job, so a
completed job always has its result.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from exif_service import fetch
from exif_service.domain.accounts import Account
from exif_service.domain.errors import (
    BadRequest,
    FileTooLarge,
    NotFound,
    ServiceError,
    ServiceUnavailable,
    StoreUnavailable,
)
from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.domain.privacy import Preset, StripPlan, parse_keep, parse_preset
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.prescan import check_file
from exif_service.engine.workspace import safe_extension, workspace
from exif_service.services.extract import run_extraction
from exif_service.services.quota import PREPAID, charge_account, refund_user
from exif_service.services.remove import run_removal
from exif_service.services.sources import LocalFile, display_name, too_large_message
from exif_service.settings import Settings
from exif_service.store.blobs import Blobs
from exif_service.store.jobs import finish_job, get_job, save_job

log = logging.getLogger(__name__)

UPLOAD_PREFIX = "uploads/"
_KEY = re.compile(
    r"^uploads/([0-9a-f-]{36})/(read|safe|none|all|location|sensitive)\.([a-z0-9]{1,10})$"
)


@dataclass(frozen=True)
class UploadGrant:
    """Where and how the caller sends the file: a presigned S3 POST (url + form fields)."""

    job: Job
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


def start_upload(
    owner: Account,
    *,
    operation: str,
    file_name: str | None,
    callback_url: str | None,
    plan: StripPlan,
    blobs: Blobs,
    settings: Settings,
) -> UploadGrant:
    """Record a `processing` job and grant a presigned POST for its file."""
    try:
        op = Operation(operation)
    except ValueError as exc:
        raise BadRequest("operation must be 'extract' or 'remove'.") from exc
    if callback_url:
        fetch.check_url(callback_url, settings)
        if settings.callback_secret is None:
            raise ServiceUnavailable("Callbacks are not configured on this server.")
    name = display_name(file_name, default="upload")
    job = Job(
        uuid=str(uuid.uuid4()),
        operation=op,
        status=JobStatus.PROCESSING,
        file_name=name,
        owner_id=owner.user_id,
        created_at=datetime.now(UTC),
        callback_url=callback_url or None,
        strip_keep=tuple(rule.arg for rule in plan.keep),
    )
    key = upload_key(job.uuid, op, plan.preset, name)
    with charge_account(owner) as charged:
        post = blobs.presigned_post(key, settings.max_s3_upload_bytes, settings.upload_ttl_s)
        charged.confirm()
        save_job(job, blobs)
    return UploadGrant(
        job=job,
        url=str(post["url"]),
        fields={str(k): str(v) for k, v in post["fields"].items()},
        max_bytes=settings.max_s3_upload_bytes,
        expires_in=settings.upload_ttl_s,
    )


def upload_key(job_uuid: str, operation: Operation, preset: Preset, file_name: str) -> str:
    """The object key a job's upload goes to (a removal's preset in its name)."""
    mode = "read" if operation is Operation.EXTRACT else preset.value
    return f"{UPLOAD_PREFIX}{job_uuid}/{mode}.{safe_extension(file_name)}"


def process_upload(pool: ExifToolPool, key: str, blobs: Blobs, settings: Settings) -> Job | None:
    """Run the engine on an uploaded file and record the outcome.

    None when there is nothing to do: a key that is not an upload of ours, or a job that has
    already left `processing` (a repeated event).
    """
    match = _KEY.match(key)
    if match is None:
        log.warning("ignored an object outside the upload layout")
        return None
    job = get_job(match.group(1), blobs)
    if job is None or job.status is not JobStatus.PROCESSING:
        log.info("upload event for a job that is not processing; nothing to do")
        return None
    read = match.group(2)
    # the keep-list was checked when the upload was granted; the preset is in the key
    plan = StripPlan(
        parse_preset(read if read != "read" else None), parse_keep(",".join(job.strip_keep))
    )
    done = _run(pool, job, key, plan, blobs, settings)
    if done is None or not finish_job(done, blobs, expected=JobStatus.PROCESSING):
        return None
    if done.status is JobStatus.COMPLETED:
        blobs.delete_quietly(key)
    elif done.owner_id:
        refund_user(done.owner_id, done.created_at)
    return done


def _run(
    pool: ExifToolPool, job: Job, key: str, plan: StripPlan, blobs: Blobs, settings: Settings
) -> Job | None:
    with workspace() as workdir:
        path = workdir / f"input.{safe_extension(job.file_name)}"
        try:
            blobs.download_to(key, path)
        except NotFound:
            log.info("upload already gone; a repeated event")
            return None
        local = LocalFile(path=path, file_name=job.file_name, size=path.stat().st_size)
        try:
            if local.size == 0:
                raise BadRequest("The uploaded file is empty.")
            if local.size > settings.max_s3_upload_bytes:
                raise FileTooLarge(too_large_message(settings.max_s3_upload_bytes))
            # the upload skipped materialize(): the same look before ExifTool parses it
            check_file(local.path)
            if job.operation is Operation.EXTRACT:
                done = run_extraction(pool, local, job.uuid, job.owner_id)
            else:
                done = run_removal(pool, local, job.uuid, job.owner_id, blobs, plan, PREPAID)
        except StoreUnavailable:
            raise
        except ServiceError as exc:
            log.info("upload %s failed: %s", job.uuid, exc.message)
            return replace(job, status=JobStatus.FAILED, error=exc.message)
    return replace(done, created_at=job.created_at, callback_url=job.callback_url)


def process_pending_uploads(pool: ExifToolPool, blobs: Blobs, settings: Settings) -> int:
    """Process every upload still waiting (the local server's stand-in for the S3 event)."""
    done = 0
    for key in list(blobs.keys(UPLOAD_PREFIX)):
        done += process_upload(pool, key, blobs, settings) is not None
    return done
