"""Retention rules over an injected clock: status, download, soft delete and purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exif_service.domain.errors import Gone, NotFound
from exif_service.domain.retention import (
    FileStatus,
    StoredFile,
    can_download,
    owner_download,
    should_purge,
    should_soft_delete,
    status_at,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def stored(**changes: object) -> StoredFile:
    base: dict[str, object] = {
        "file_id": "f1",
        "user_id": "u1",
        "tool": "strip-exif",
        "file_name": "photo.jpg",
        "s3_key": "results/f1/result.jpg",
        "content_type": "image/jpeg",
        "size": 10,
        "created_at": T0,
        "download_expires_at": T0 + DAY,
    }
    base.update(changes)
    return StoredFile(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(0), FileStatus.AVAILABLE),
        (DAY - timedelta(seconds=1), FileStatus.AVAILABLE),
        (DAY, FileStatus.EXPIRED),
        (DAY * 3, FileStatus.EXPIRED),
    ],
)
def test_status_follows_the_clock_through_the_24_hour_window(
    offset: timedelta, status: FileStatus
) -> None:
    item = stored()
    assert status_at(item, T0 + offset) is status
    assert can_download(item, T0 + offset) is (status is FileStatus.AVAILABLE)


def test_soft_deleted_file_is_deleted_whatever_the_time() -> None:
    item = stored(deleted=True, soft_deleted_at=T0 + DAY)
    assert status_at(item, T0) is FileStatus.DELETED
    assert not can_download(item, T0)


def test_only_expired_unmarked_files_are_soft_deleted() -> None:
    assert not should_soft_delete(stored(), T0 + DAY - timedelta(seconds=1))
    assert should_soft_delete(stored(), T0 + DAY)
    assert not should_soft_delete(stored(deleted=True, soft_deleted_at=T0 + DAY), T0 + DAY * 5)


def test_purge_waits_for_the_grace_period_after_soft_delete() -> None:
    item = stored(deleted=True, soft_deleted_at=T0 + DAY * 2)
    assert not should_purge(item, T0 + DAY * 2, DAY)
    assert not should_purge(item, T0 + DAY * 3 - timedelta(seconds=1), DAY)
    assert should_purge(item, T0 + DAY * 3, DAY)
    assert not should_purge(stored(), T0 + DAY * 10, DAY)  # never purged before soft delete


def test_owner_downloads_within_the_window_and_gets_410_after() -> None:
    item = stored()
    assert owner_download(item, "u1", T0 + timedelta(hours=23)) is item
    with pytest.raises(Gone):
        owner_download(item, "u1", T0 + DAY)


def test_someone_elses_or_missing_file_is_not_found_not_gone() -> None:
    with pytest.raises(NotFound):
        owner_download(stored(), "u2", T0)
    with pytest.raises(NotFound):
        owner_download(stored(), "u2", T0 + DAY * 2)  # no hint that it ever existed
    with pytest.raises(NotFound):
        owner_download(None, "u1", T0)
