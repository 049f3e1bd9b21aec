"""Processed files (history) in DynamoDB: one FileRecord per file kept in `results/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist

from exif_service.domain.retention import StoredFile
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.mapping import to_item, to_record
from exif_service.store.models import FileRecord


def _record(item: FileRecord) -> StoredFile:
    return to_record(StoredFile, item, size=int(item.size or 0), deleted=bool(item.deleted))


def _item(record: StoredFile) -> FileRecord:
    return to_item(FileRecord, record)


@translate_faults
def save_file(item: StoredFile) -> None:
    _item(item).save()


@translate_faults
def get_file(file_id: str) -> StoredFile | None:
    if not file_id or len(file_id) > 64:
        return None
    try:
        return _record(FileRecord.get(file_id))
    except DoesNotExist:
        return None


@translate_faults
def user_files(user_id: str, limit: int) -> list[StoredFile]:
    """The user's newest files first."""
    query = FileRecord.user_index.query(user_id, scan_index_forward=False, limit=limit)
    return [_record(item) for item in query]


@translate_faults
def scan_page(
    start: dict[str, Any] | None, page_size: int
) -> tuple[list[StoredFile], dict[str, Any] | None]:
    """One page of every file record, and the key to continue from (None at the end)."""
    result = FileRecord.scan(limit=page_size, page_size=page_size, last_evaluated_key=start)
    items = [_record(item) for item in result]
    return items, result.last_evaluated_key


@translate_faults
def mark_soft_deleted(file_id: str, at: datetime) -> bool:
    """Flag a file deleted; False if it already was, or is gone."""
    condition = FileRecord.file_id.exists() & (FileRecord.deleted == False)  # noqa: E712
    item = FileRecord(file_id=file_id)
    return conditional_write(
        lambda: item.update(
            actions=[FileRecord.deleted.set(True), FileRecord.soft_deleted_at.set(at)],
            condition=condition,
        )
    )


@translate_faults
def delete_file(file_id: str) -> None:
    try:
        FileRecord(file_id=file_id).delete()
    except DeleteError as exc:
        if exc.cause_response_code != "ResourceNotFoundException":
            raise
