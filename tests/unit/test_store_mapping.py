"""Domain records and the pynamodb items storing them name their fields alike (store/mapping.py)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.models import Model

from exif_service.domain.accounts import Account, ApiKeyInfo
from exif_service.domain.library import LibraryEntry
from exif_service.domain.retention import StoredFile
from exif_service.store.mapping import to_item, to_record
from exif_service.store.models import ApiKey, FileRecord, LibraryFile, User

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("record", "model"),
    [(StoredFile, FileRecord), (LibraryEntry, LibraryFile), (Account, User), (ApiKeyInfo, ApiKey)],
    ids=lambda t: t.__name__,
)
def test_every_record_field_is_an_attribute_of_its_model(record: type, model: type[Model]) -> None:
    assert {f.name for f in fields(record)} <= set(model.get_attributes())


def test_a_history_file_reads_back_as_it_was_saved() -> None:
    record = StoredFile(
        file_id="f1",
        user_id="u1",
        tool="strip-exif",
        file_name="a.jpg",
        s3_key="results/u1/f1.jpg",
        content_type="image/jpeg",
        size=1234,
        created_at=NOW,
        download_expires_at=NOW + timedelta(hours=24),
        soft_deleted_at=None,
    )
    item = to_item(FileRecord, record)
    assert item.file_name == "a.jpg" and item.download_expires_at == NOW + timedelta(hours=24)
    assert to_record(StoredFile, item) == record


def test_converted_values_replace_the_copied_ones() -> None:
    entry = LibraryEntry(
        file_id="f1",
        user_id="u1",
        name="a.jpg",
        file_path="/a.jpg",
        folder="/",
        tags=(),
        s3_key="library/u1/f1/x.jpg",
        size=10,
        width=None,
        height=None,
        file_type="non-image",
        mime="application/pdf",
        phash=None,
        url_token="t",
        created_at=NOW,
        updated_at=NOW,
    )
    item = to_item(LibraryFile, entry, tags=None)
    assert item.tags is None
    assert to_record(LibraryEntry, item, tags=()) == entry
