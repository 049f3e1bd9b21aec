"""Extract and remove jobs (the v1 surface's `uuid` records) as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class Operation(StrEnum):
    EXTRACT = "extract"
    REMOVE = "remove"


@dataclass(frozen=True)
class Job:
    uuid: str
    operation: Operation
    status: JobStatus
    file_name: str
    owner_id: str | None
    created_at: datetime
    report: dict[str, Any] | None = None
    result_key: str | None = None
    content_type: str | None = None
    error: str | None = None
    download_expires_at: datetime | None = None
    callback_url: str | None = None
    # a completed remove job's file passed verification; these stayed for a stated reason
    kept: tuple[str, ...] = ()
    strip_keep: tuple[str, ...] = ()  # an uploaded removal's keep-list, applied when it arrives
    # what a remove job did with the file's C2PA manifest: removed, kept or none
    content_credentials: str = "none"
