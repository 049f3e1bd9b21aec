"""The media library's records in DynamoDB (the files themselves are in S3 under `library/`)."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist

from exif_service.domain.library import LibraryEntry
from exif_service.store.models import LibraryFile


def _entry(item: LibraryFile) -> LibraryEntry:
    return LibraryEntry(
        file_id=item.file_id,
        user_id=item.user_id,
        name=item.name,
        file_path=item.file_path,
        folder=item.folder,
        tags=tuple(str(t) for t in item.tags or []),
        s3_key=item.s3_key,
        size=int(item.size or 0),
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        file_type=item.file_type,
        mime=item.mime,
        phash=item.phash,
        url_token=item.url_token or "",
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def save_entry(entry: LibraryEntry) -> None:
    LibraryFile(
        file_id=entry.file_id,
        user_id=entry.user_id,
        name=entry.name,
        file_path=entry.file_path,
        folder=entry.folder,
        tags=list(entry.tags) or None,
        s3_key=entry.s3_key,
        size=entry.size,
        width=entry.width,
        height=entry.height,
        file_type=entry.file_type,
        mime=entry.mime,
        phash=entry.phash,
        url_token=entry.url_token,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    ).save()


def get_entry(file_id: str) -> LibraryEntry | None:
    try:
        return _entry(LibraryFile.get(file_id))
    except DoesNotExist:
        return None


def user_entries(user_id: str) -> Iterator[LibraryEntry]:
    """The user's files, oldest first."""
    for item in LibraryFile.user_index.query(user_id, scan_index_forward=True):
        yield _entry(item)


def delete_entry(file_id: str) -> None:
    LibraryFile(file_id=file_id).delete()
