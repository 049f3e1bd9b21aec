"""Local data (users, keys, extractions, cleaned files) outlives the in-memory emulator."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws
from tests.support.media import make_photo
from tests.support.server import Served, run_cli, serve

from exif_service.domain.jobs import Job, JobStatus, Operation
from exif_service.local.emulator import LocalAws
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


def test_objects_changed_after_a_prefetch_are_saved_as_they_are_at_the_save() -> None:
    """A fold copies object bodies before it holds writes; what changes between the copy and
    the save is saved as it is at the save, and blobs nobody uses are removed."""
    import hashlib

    from exif_service.local.persistence import Snapshot
    from exif_service.store.blobs import Blobs

    blobs_dir = get_settings().data_dir / "data" / "s3"
    with mock_aws():
        _fresh_store()
        snapshot = Snapshot(get_settings())
        Blobs().put_bytes("results/a/clean.jpg", b"first", "image/jpeg")
        Blobs().put_bytes("results/b/gone.jpg", b"gone", "image/jpeg")
        snapshot.prefetch()
        assert (blobs_dir / hashlib.sha256(b"first").hexdigest()).exists()  # copied already
        Blobs().put_bytes("results/a/clean.jpg", b"second", "image/png")
        Blobs().delete("results/b/gone.jpg")
        snapshot.save()
        assert sorted(p.name for p in blobs_dir.iterdir()) == [
            hashlib.sha256(b"second").hexdigest()
        ]
    with mock_aws():
        _fresh_store()
        Snapshot(get_settings()).restore()
        s3, bucket = Blobs().s3, get_settings().bucket
        obj = s3.get_object(Bucket=bucket, Key="results/a/clean.jpg")
        assert obj["Body"].read() == b"second" and obj["ContentType"] == "image/png"
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        assert [o["Key"] for o in listed] == ["results/a/clean.jpg"]
    reset_clients()


def test_data_saved_in_the_layout_before_the_journal_is_restored_and_replaced() -> None:
    import hashlib

    from exif_service.local.persistence import Snapshot
    from exif_service.store.accounts import create_api_key, resolve_api_key, upsert_user
    from exif_service.store.aws import client
    from exif_service.store.blobs import Blobs

    root = get_settings().data_dir / "data"
    with mock_aws():  # write the old layout: one JSON file per table, S3 files by key hash
        _fresh_store()
        account = upsert_user("old@example.com")
        raw, _ = create_api_key(account.user_id, "old")
        for table in ("users", "api-keys"):
            items = client("dynamodb").scan(TableName=get_settings().table_name(table))["Items"]
            (root / "dynamodb").mkdir(parents=True, exist_ok=True)
            (root / "dynamodb" / f"{table}.json").write_text(json.dumps(items))
        key = "results/old/clean.jpg"
        (root / "s3").mkdir(parents=True, exist_ok=True)
        (root / "s3" / hashlib.sha256(key.encode()).hexdigest()).write_bytes(b"\xff\xd8old")
        manifest = {
            key: {"file": hashlib.sha256(key.encode()).hexdigest(), "contentType": "image/jpeg"}
        }
        (root / "s3-manifest.json").write_text(json.dumps(manifest))

    with mock_aws():
        _fresh_store()
        snapshot = Snapshot(get_settings())
        assert snapshot.restore() is None  # no journal was folded into the old layout
        owner = resolve_api_key(raw)
        assert owner is not None and owner.email == "old@example.com"
        obj = Blobs().s3.get_object(Bucket=get_settings().bucket, Key="results/old/clean.jpg")
        assert obj["Body"].read() == b"\xff\xd8old" and obj["ContentType"] == "image/jpeg"
        snapshot.save(folded="j1")
    # the new layout replaces the old one: one snapshot file, blobs by content
    assert sorted(p.name for p in root.iterdir()) == ["s3", "snapshot.json"]
    assert [p.name for p in (root / "s3").iterdir()] == [hashlib.sha256(b"\xff\xd8old").hexdigest()]
    reset_clients()


# --- the journal: every acknowledged write survives kill -9 ------------------------------------


def _restart_in_process(monkeypatch: pytest.MonkeyPatch, crash: LocalAws) -> LocalAws:
    """Drop what `crash` holds in memory without folding it (as a kill -9 would), start again."""
    import urllib.request

    urllib.request.urlopen(  # noqa: S310 - loopback: forget every table and object
        urllib.request.Request(f"{crash.endpoint}/moto-api/reset", method="POST"), timeout=30
    )
    crash._stopping.set()  # no fold at stop, no snapshot: only the journal holds the writes
    crash._server.shutdown()
    crash._server.server_close()
    assert crash._journal is not None
    crash._journal.close()
    again = LocalAws()
    again.start()
    return again


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")  # use_endpoint sets it; undone after the test
    emulator = LocalAws()
    emulator.start()
    yield emulator
    emulator.stop()
    reset_clients()


@pytest.mark.slow
def test_journal_replays_conditional_counter_adds_exactly_once_after_a_crash(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.store.usage import try_consume

    for _ in range(3):
        assert try_consume("user#crash", "2026-11-28", 3)
    assert not try_consume("user#crash", "2026-11-28", 3)  # refused: not journaled
    again = _restart_in_process(monkeypatch, local_aws)
    try:
        # the three acknowledged adds are back, not six, and the limit still holds
        assert not try_consume("user#crash", "2026-11-28", 3)
        assert try_consume("user#crash", "2026-11-28", 4)
    finally:
        again.stop()


@pytest.mark.slow
def test_journal_replays_s3_puts_and_deletes_in_order(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.store.blobs import Blobs

    Blobs().put_bytes("results/a/clean.jpg", b"first", "image/jpeg")
    Blobs().put_bytes("results/a/clean.jpg", b"second", "image/jpeg")
    Blobs().put_bytes("results/b/gone.jpg", b"b", "image/jpeg")
    Blobs().delete("results/b/gone.jpg")
    again = _restart_in_process(monkeypatch, local_aws)
    try:
        s3 = Blobs().s3
        obj = s3.get_object(Bucket=get_settings().bucket, Key="results/a/clean.jpg")
        assert obj["Body"].read() == b"second"
        assert obj["ContentType"] == "image/jpeg"
        listed = s3.list_objects_v2(Bucket=get_settings().bucket).get("Contents", [])
        assert [o["Key"] for o in listed] == ["results/a/clean.jpg"]
    finally:
        again.stop()


@pytest.mark.slow
def test_a_torn_last_journal_record_is_dropped_and_the_rest_replayed(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.store.accounts import create_api_key, resolve_api_key, upsert_user

    account = upsert_user("torn@example.com")
    raw, _ = create_api_key(account.user_id, "kept")
    assert local_aws._journal is not None
    journal = local_aws._journal.path
    with journal.open("ab") as f:  # the process died while writing a record it never answered
        f.write(b'\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x10{"REQUEST_METH')
    again = _restart_in_process(monkeypatch, local_aws)
    try:
        owner = resolve_api_key(raw)
        assert owner is not None and owner.email == "torn@example.com"
    finally:
        again.stop()


@pytest.mark.slow
def test_a_crash_between_snapshot_and_new_journal_does_not_apply_writes_twice(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.local.persistence import Snapshot
    from exif_service.store.usage import try_consume

    assert try_consume("user#twice", "2026-11-28", 5)
    assert try_consume("user#twice", "2026-11-28", 5)
    assert local_aws._journal is not None
    # the snapshot that folds the journal is on disk, but the journal was not yet replaced
    Snapshot(get_settings()).save(folded=local_aws._journal.id)
    again = _restart_in_process(monkeypatch, local_aws)
    try:
        for _ in range(3):
            assert try_consume("user#twice", "2026-11-28", 5)
        assert not try_consume("user#twice", "2026-11-28", 5)  # 2 + 3: counted once
    finally:
        again.stop()


@pytest.mark.slow
def test_a_camera_size_object_survives_a_crash_and_a_clean_restart_byte_for_byte(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few MB put in one request (read once, journaled raw) comes back whole from the
    journal after a crash, then from the snapshot after a clean stop."""
    import hashlib

    from exif_service.store.blobs import Blobs

    big = os.urandom(5 * 1024 * 1024 + 123)  # not a multiple of any buffer size
    bucket = get_settings().bucket
    put = Blobs().s3.put_object(Bucket=bucket, Key="results/big/clean.jpg", Body=big)
    assert local_aws._journal is not None
    assert local_aws._journal.size() > len(big)  # the body is in the journal, as sent
    crashed = _restart_in_process(monkeypatch, local_aws)  # back from the journal alone
    try:
        obj = Blobs().s3.get_object(Bucket=bucket, Key="results/big/clean.jpg")
        assert obj["Body"].read() == big
        assert obj["ETag"] == put["ETag"] == f'"{hashlib.md5(big).hexdigest()}"'  # noqa: S324
    finally:
        crashed.stop()  # a clean stop folds it into the snapshot
    blob = get_settings().data_dir / "data" / "s3" / hashlib.sha256(big).hexdigest()
    assert blob.read_bytes() == big
    again = LocalAws()
    again.start()
    try:
        obj = Blobs().s3.get_object(Bucket=bucket, Key="results/big/clean.jpg")
        assert obj["Body"].read() == big
    finally:
        again.stop()


@pytest.mark.slow
def test_a_presigned_post_upload_is_journaled_and_replayed_byte_for_byte(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A browser-style multipart POST (the upload grant's form) is parsed by moto from the
    body the journal read, and replays the same after a crash."""
    import requests

    from exif_service.store.blobs import Blobs

    data = os.urandom(1024 * 1024 + 17)
    bucket = get_settings().bucket
    grant = Blobs().s3.generate_presigned_post(bucket, "uploads/post/photo.jpg", ExpiresIn=600)
    sent = requests.post(
        grant["url"], data=grant["fields"], files={"file": ("photo.jpg", data)}, timeout=60
    )
    assert sent.status_code in (200, 201, 204), sent.text
    again = _restart_in_process(monkeypatch, local_aws)
    try:
        obj = Blobs().s3.get_object(Bucket=bucket, Key="uploads/post/photo.jpg")
        assert obj["Body"].read() == data
    finally:
        again.stop()


@pytest.mark.slow
def test_a_write_whose_client_left_mid_body_is_neither_applied_nor_journaled(
    local_aws: LocalAws,
) -> None:
    import socket
    from urllib.parse import urlsplit

    from exif_service.store.blobs import Blobs

    assert local_aws._journal is not None
    before = local_aws._journal.size()
    parts = urlsplit(local_aws.endpoint)
    assert parts.hostname is not None and parts.port is not None
    bucket = get_settings().bucket
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            f"PUT /{bucket}/half HTTP/1.1\r\nHost: x\r\n".encode()
            + b"Content-Length: 3000000\r\n\r\n"
            + b"x" * 100_000
        )
    Blobs().put_bytes("results/after/ok.jpg", b"fine", "image/jpeg")  # served after it
    listed = Blobs().s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    keys = [o["Key"] for o in listed]
    assert "half" not in keys and "results/after/ok.jpg" in keys
    # only the later put was journaled: a small record, not 100 KB of half a body
    assert 0 < local_aws._journal.size() - before < 10_000


# --- the whole server killed with SIGKILL right after N acknowledged writes ---------------------

N = 3


def _kill_whole_server(server: Served, data: Path) -> None:
    """SIGKILL the server and its emulator at once: nothing gets to save anything."""
    state = json.loads((data / "server.json").read_text())
    os.kill(server.pid, signal.SIGKILL)
    os.kill(int(state["emulatorPid"]), signal.SIGKILL)
    server.process.wait()


@pytest.mark.slow
def test_kill_9_after_n_acknowledged_writes_loses_none_of_them(tmp_path: Path) -> None:
    import httpx

    data = tmp_path / "data"
    photo = make_photo(tmp_path / "p.jpg")
    with serve(data, tmp_path / "server.log") as server:
        created = run_cli(
            "admin",
            "create-user",
            "--email",
            "pro@example.com",
            "--plan",
            "pro",
            "--password",
            "correct horse battery",
            data_dir=data,
        )
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        bearer = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=60) as http:
            users = [f"user{i}@example.com" for i in range(N)]
            for email in users:  # users and their sessions
                r = http.post(
                    "/api/auth/sign-up/email", json={"email": email, "password": "pw-" + email}
                )
                assert r.status_code == 200, r.text
            http.cookies.clear()
            signed = http.post(
                "/api/auth/sign-in/email",
                json={"email": "pro@example.com", "password": "correct horse battery"},
            )
            assert signed.status_code == 200, signed.text
            new_keys = []
            for i in range(N):  # keys
                r = http.post("/api/keys", json={"name": f"key {i}"})
                assert r.status_code == 200, r.text
                new_keys.append(r.json()["key"])
            http.cookies.clear()
            uuids = []
            for i in range(N):  # extractions (and usage)
                files = {"file": (f"x{i}.jpg", photo.read_bytes(), "image/jpeg")}
                r = http.post("/api/v1/extract", files=files, headers={"X-API-Key": key})
                assert r.status_code == 200, r.text
                uuids.append(r.json()["uuid"])
            cleaned = []
            for i in range(N):  # history rows with their files (and usage)
                files = {"file": (f"h{i}.jpg", photo.read_bytes(), "image/jpeg")}
                r = http.post("/api/images/strip-exif", files=files, headers=bearer)
                assert r.status_code == 200, r.text
                cleaned.append(r.content)
        _kill_whole_server(server, data)  # right after the last 200: no snapshot, no clean stop

    with (
        serve(data, tmp_path / "server.log") as again,
        httpx.Client(base_url=again.url, timeout=60) as http,
    ):
        for email in users:
            r = http.post(
                "/api/auth/sign-in/email", json={"email": email, "password": "pw-" + email}
            )
            assert r.status_code == 200, r.text
        listed = http.get("/api/keys", headers=bearer).json()["keys"]
        assert len(listed) == N + 1
        for new_key in new_keys:
            assert (
                http.get("/api/keys", headers={"Authorization": f"Bearer {new_key}"}).status_code
                == 200
            )
        for uuid in uuids:
            r = http.get(f"/api/v1/extract/{uuid}", headers={"X-API-Key": key})
            assert r.status_code == 200 and r.json()["uuid"] == uuid
            assert r.json()["metadata"]["exif"]["Model"] == "Canon EOS R5"
        items = http.get(
            "/api/images/history", headers={**bearer, "Accept": "application/json"}
        ).json()["images"]
        assert len(items) == N
        downloads = sorted(
            http.get(f"/api/images/history/{item['id']}/download", headers=bearer).content
            for item in items
        )
        assert downloads == sorted(cleaned)
        status = http.get("/api/billing/status", headers=bearer).json()
        assert status["usage"] == 2 * N
