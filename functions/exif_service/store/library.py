"""The media library's records in DynamoDB (the files themselves are in S3 under `library/`)."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist

from exif_service.domain.library import LibraryEntry
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.mapping import to_item, to_record
from exif_service.store.models import LibraryFile


def _record(item: LibraryFile) -> LibraryEntry:
    return to_record(
        LibraryEntry,
        item,
        tags=tuple(str(t) for t in item.tags or []),
        size=int(item.size or 0),
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        url_token=item.url_token or "",
    )


def _item(entry: LibraryEntry) -> LibraryFile:
    # no tags: no attribute at all, rather than an empty list
    return to_item(LibraryFile, entry, tags=list(entry.tags) or None)


@translate_faults
def save_entry(entry: LibraryEntry) -> None:
    _item(entry).save()


@translate_faults
def put_entry(entry: LibraryEntry, replacing: str | None) -> bool:
    """Write `entry` if its id is new (`replacing` None) or still holds the object `replacing`;
    False when another write got there first."""
    item = _item(entry)
    condition = (
        LibraryFile.file_id.does_not_exist()
        if replacing is None
        else LibraryFile.s3_key == replacing
    )
    return conditional_write(lambda: item.save(condition=condition))


@translate_faults
def get_entry(file_id: str) -> LibraryEntry | None:
    try:
        return _record(LibraryFile.get(file_id))
    except DoesNotExist:
        return None


def user_entries(user_id: str) -> Iterator[LibraryEntry]:
    """The user's files, oldest first."""
    for item in LibraryFile.user_index.query(user_id, scan_index_forward=True):
        yield _record(item)


@translate_faults
def delete_entry_of(file_id: str, s3_key: str) -> bool:
    """Delete the record while it still points at `s3_key`; False if it no longer does."""
    item = LibraryFile(file_id=file_id)
    return conditional_write(lambda: item.delete(condition=LibraryFile.s3_key == s3_key))
