"""Local data (users, keys, extractions, cleaned files) outlives the in-memory emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from moto import mock_aws

from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.settings import get_settings
from exif_service.store.aws import reset_clients


def _fresh_store() -> None:
    from exif_service.local.emulator import prepare_store

    get_settings.cache_clear()
    reset_clients()
    prepare_store(get_settings())


def test_snapshot_restores_users_keys_jobs_and_files_into_a_new_emulator(tmp_path: Path) -> None:
    from exif_service.local.persistence import Snapshot
    from exif_service.store.accounts import create_api_key, resolve_api_key, upsert_user
    from exif_service.store.blobs import Blobs
    from exif_service.store.jobs import get_job, save_job

    job = Job(
        uuid="6f1c2a8e-1111-4222-8333-444455556666",
        operation=Operation.REMOVE,
        status=JobStatus.COMPLETED,
        file_name="ferie ø.jpg",
        owner_id=None,
        created_at=datetime.now(UTC),
        result_key="results/6f1c2a8e/clean.jpg",
        content_type="image/jpeg",
    )
    with mock_aws():
        _fresh_store()
        account = upsert_user("keep@example.com")
        raw, _ = create_api_key(account.user_id, "kept")
        save_job(job, Blobs())
        Blobs().put_bytes("results/6f1c2a8e/clean.jpg", b"\xff\xd8clean", "image/jpeg")
        Snapshot(get_settings()).save()

    with mock_aws():  # a new, empty emulator, as after a restart
        _fresh_store()
        assert resolve_api_key(raw) is None
        Snapshot(get_settings()).restore()
        owner = resolve_api_key(raw)
        assert owner is not None and owner.email == "keep@example.com"
        restored = get_job(job.uuid, Blobs())
        assert restored is not None and restored.file_name == "ferie ø.jpg"
        obj = Blobs().s3.get_object(Bucket=get_settings().bucket, Key="results/6f1c2a8e/clean.jpg")
        assert obj["Body"].read() == b"\xff\xd8clean"
        assert obj["ContentType"] == "image/jpeg"
    reset_clients()


def test_deleted_objects_leave_the_snapshot(tmp_path: Path) -> None:
    from exif_service.local.persistence import Snapshot
    from exif_service.store.blobs import Blobs

    with mock_aws():
        _fresh_store()
        snapshot = Snapshot(get_settings())
        Blobs().put_bytes("results/a/clean.jpg", b"a", "image/jpeg")
        snapshot.save()
        Blobs().delete("results/a/clean.jpg")
        snapshot.save()
    assert list((get_settings().data_dir / "data" / "s3").iterdir()) == []
    reset_clients()
