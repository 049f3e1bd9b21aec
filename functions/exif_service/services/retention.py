"""The retention run: soft-delete files past their window, purge those deleted long enough.

Safe to run at any time, as often as wanted, and to interrupt: each step is a conditional or
idempotent write, the blob goes before its record (so a crash in between is retried on the
next run), and `should_stop` is checked between files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from exif_service.domain.retention import PurgeResult, should_purge, should_soft_delete
from exif_service.store import files
from exif_service.store.blobs import Blobs

log = logging.getLogger(__name__)

PAGE_SIZE = 100

__all__ = ["PurgeResult", "run_purge"]


def run_purge(
    now: datetime,
    grace: timedelta,
    should_stop: Callable[[], bool] = lambda: False,
) -> PurgeResult:
    """Soft-delete expired files and permanently delete those soft-deleted `grace` ago."""
    blobs = Blobs()
    scanned = soft_deleted = purged = 0
    start = None
    while True:
        page, start = files.scan_page(start, PAGE_SIZE)
        for item in page:
            if should_stop():
                log.info("purge stopped early after %d files", scanned)
                return PurgeResult(scanned, soft_deleted, purged, complete=False)
            scanned += 1
            if should_soft_delete(item, now):
                soft_deleted += int(files.mark_soft_deleted(item.file_id, now))
            elif should_purge(item, now, grace):
                blobs.delete(item.s3_key)
                files.delete_file(item.file_id)
                purged += 1
        if start is None:
            break
    log.info("purge: %d scanned, %d soft-deleted, %d purged", scanned, soft_deleted, purged)
    return PurgeResult(scanned, soft_deleted, purged, complete=True)
