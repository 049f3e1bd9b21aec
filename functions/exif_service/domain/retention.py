"""The life of a processed file, over a clock the caller passes in.

    created --(download window, 24 h)--> expired --(purge run)--> soft-deleted
        --(grace period, purge run)--> purged (blob and record gone)

A file can be downloaded by its owner only while it is available. Expiry is decided by the
clock, not by the purge run: a file past its window is `expired` (410) even if no purge has
marked it yet. Nothing here reads the time itself, so tests move the clock freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from exif_service.domain.errors import Gone, NotFound


class FileStatus(StrEnum):
    AVAILABLE = "available"
    EXPIRED = "expired"
    DELETED = "deleted"


@dataclass(frozen=True)
class StoredFile:
    """A processed file kept for its owner (one history row)."""

    file_id: str
    user_id: str
    tool: str
    file_name: str
    s3_key: str
    content_type: str
    size: int
    created_at: datetime
    download_expires_at: datetime
    deleted: bool = False
    soft_deleted_at: datetime | None = None


@dataclass(frozen=True)
class PurgeResult:
    """What one purge run did; `complete` is False when it was asked to stop early."""

    scanned: int = 0
    soft_deleted: int = 0
    purged: int = 0
    complete: bool = True


def status_at(item: StoredFile, now: datetime) -> FileStatus:
    """`deleted` once soft-deleted, `expired` once the window has passed, else `available`."""
    if item.deleted:
        return FileStatus.DELETED
    if now >= item.download_expires_at:
        return FileStatus.EXPIRED
    return FileStatus.AVAILABLE


def can_download(item: StoredFile, now: datetime) -> bool:
    return status_at(item, now) is FileStatus.AVAILABLE


def should_soft_delete(item: StoredFile, now: datetime) -> bool:
    """Past its window and not yet marked."""
    return not item.deleted and now >= item.download_expires_at


def should_purge(item: StoredFile, now: datetime, grace: timedelta) -> bool:
    """Soft-deleted at least `grace` ago: blob and record may go for good."""
    if not item.deleted:
        return False
    since = item.soft_deleted_at or item.download_expires_at
    return now - since >= grace


def owner_download(item: StoredFile | None, user_id: str, now: datetime) -> StoredFile:
    """The owner's file while available; 404 for anyone else, 410 once the window is over."""
    if item is None or item.user_id != user_id:
        raise NotFound("No file found with this id.")
    if not can_download(item, now):
        raise Gone("This file is no longer available: downloads are kept for 24 hours.")
    return item
