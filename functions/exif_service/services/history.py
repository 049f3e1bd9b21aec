"""Keeping processed files for their owners: store, list, and hand back within the window."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest, NotFound, StoreUnavailable
from exif_service.domain.retention import FileStatus, StoredFile, owner_download, status_at
from exif_service.engine.workspace import safe_extension
from exif_service.settings import get_settings
from exif_service.store import files
from exif_service.store.blobs import Blobs
from exif_service.store.faults import translated

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50
_ADMIN_SCAN_CAP = 5000


def _now() -> datetime:
    return datetime.now(UTC)


def keep_result(
    account: Account,
    tool: str,
    file_name: str,
    path: Path,
    content_type: str,
    blobs: Blobs,
    now: datetime | None = None,
) -> StoredFile:
    """Put a processed file under `results/` and add it to the owner's history.

    The file goes first and the history row last, so a row always has its file; if the row
    cannot be written both are removed again (the 1-day rule on `results/` is the backstop).
    """
    created = now or _now()
    file_id = uuid.uuid4().hex
    key = f"results/{file_id}/result.{safe_extension(file_name)}"
    blobs.put_file(key, path, content_type)
    item = StoredFile(
        file_id=file_id,
        user_id=account.user_id,
        tool=tool,
        file_name=file_name,
        s3_key=key,
        content_type=content_type,
        size=path.stat().st_size,
        created_at=created,
        download_expires_at=created + timedelta(hours=get_settings().download_ttl_hours),
    )
    try:
        with translated():
            files.save_file(item)
    except Exception:
        _discard(item, blobs)
        raise
    return item


def _discard(item: StoredFile, blobs: Blobs) -> None:
    """Undo a history entry whose row failed: the row first (a lost answer may have hidden a
    write that happened), then its file; if the row cannot be removed the file stays too."""
    try:
        with translated():
            files.delete_file(item.file_id)
    except StoreUnavailable:
        log.warning("could not undo history entry %s after a storage fault", item.file_id)
        return
    blobs.delete_quietly(item.s3_key)


def user_history(account: Account, limit: int = HISTORY_LIMIT) -> list[StoredFile]:
    """The owner's newest processed files."""
    return files.user_files(account.user_id, limit)


def owner_file(account: Account, file_id: str, now: datetime | None = None) -> StoredFile:
    """The owner's file while its download window is open (404 for others, 410 after)."""
    return owner_download(files.get_file(file_id), account.user_id, now or _now())


def any_file(file_id: str) -> StoredFile:
    """A file by id for an administrator, whatever its status, while the blob is kept."""
    item = files.get_file(file_id)
    if item is None:
        raise NotFound("No file found with this id.")
    return item


def parse_status_filter(raw: str | None) -> FileStatus | None:
    """`all` (None), `available`, `expired` or `deleted`."""
    value = (raw or "all").strip().lower()
    if value == "all":
        return None
    try:
        return FileStatus(value)
    except ValueError as exc:
        raise BadRequest("status must be one of all, available, expired, deleted.") from exc


def admin_files(
    status: FileStatus | None, user_id: str | None, limit: int, now: datetime | None = None
) -> list[StoredFile]:
    """Files of every user (or one), newest first, optionally only one status."""
    at = now or _now()
    if user_id:
        candidates = files.user_files(user_id, _ADMIN_SCAN_CAP)
    else:
        candidates = _scan_all()
        candidates.sort(key=lambda f: f.created_at, reverse=True)
    if status is not None:
        candidates = [f for f in candidates if status_at(f, at) is status]
    return candidates[:limit]


def _scan_all() -> list[StoredFile]:
    out: list[StoredFile] = []
    start = None
    while len(out) < _ADMIN_SCAN_CAP:
        page, start = files.scan_page(start, 500)
        out += page
        if start is None:
            break
    return out
