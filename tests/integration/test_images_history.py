"""History, downloads, retention and the admin file views, with the clock moved by the tests."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user

from exif_service.domain.accounts import Account
from exif_service.domain.retention import StoredFile
from exif_service.services import retention
from exif_service.services.history import keep_result
from exif_service.services.retention import run_purge
from exif_service.store import files
from exif_service.store.accounts import get_user
from exif_service.store.blobs import Blobs

DAY = timedelta(hours=24)
XSS = "<script>alert(1)</script>"
XSS_NAME = "<img src=x onerror=alert(1)>.jpg"  # no slash: upload names lose directories


@pytest.fixture(autouse=True)
def _engine_started_by_main_thread() -> None:
    from exif_service.engine.exiftool import get_pool

    get_pool().warm()


def bearer(user: KeyedUser, json: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {user.key}"}
    if json:
        headers["Accept"] = "application/json"
    return headers


def account(user: KeyedUser) -> Account:
    found = get_user(user.user_id)
    assert found is not None
    return found


def kept(user: KeyedUser, tmp_path: Path, name: str, created: datetime) -> StoredFile:
    """A processed file as the tools keep it, made at `created`."""
    path = tmp_path / "result.jpg"
    path.write_bytes(b"\xff\xd8 processed " + name.encode())
    return keep_result(account(user), "strip-exif", name, path, "image/jpeg", Blobs(), now=created)


def history(client: TestClient, user: KeyedUser) -> list[dict[str, Any]]:
    r = client.get("/api/images/history", headers=bearer(user, json=True))
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    images: list[dict[str, Any]] = body["images"]
    return images


def blob_exists(key: str) -> bool:
    from botocore.exceptions import ClientError

    blobs = Blobs()
    try:
        blobs.s3.head_object(Bucket=blobs.bucket, Key=key)
    except ClientError:
        return False
    return True


def test_processed_file_appears_in_history_and_downloads(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = client.post(
        "/api/images/strip-exif",
        headers=bearer(pro_user),
        files={"file": ("holiday.jpg", photo.read_bytes())},
    )
    assert r.status_code == 200
    [row] = history(client, pro_user)
    assert row["fileName"] == "holiday.jpg"
    assert row["tool"] == "strip-exif"
    assert row["status"] == "available" and row["canDownload"] is True
    assert row["createdAt"].endswith("Z") and row["downloadExpiresAt"].endswith("Z")
    assert row["downloadUrl"] == f"/api/images/history/{row['id']}/download"
    d = client.get(row["downloadUrl"], headers=bearer(pro_user))
    assert d.status_code == 200
    assert d.content == r.content
    assert d.headers["content-type"] == "image/jpeg"
    assert 'filename="holiday.jpg"' in d.headers["content-disposition"]


def test_history_statuses_follow_the_clock_and_the_purge(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    fresh = kept(pro_user, tmp_path, "fresh.jpg", now - timedelta(hours=1))
    old = kept(pro_user, tmp_path, "old.jpg", now - DAY - timedelta(hours=1))
    rows = {r["id"]: r for r in history(client, pro_user)}
    assert rows[fresh.file_id]["status"] == "available"
    assert rows[old.file_id]["status"] == "expired"
    assert rows[old.file_id]["canDownload"] is False
    assert rows[old.file_id]["downloadUrl"] is None

    result = run_purge(now, grace=DAY)
    assert (result.soft_deleted, result.purged, result.complete) == (1, 0, True)
    rows = {r["id"]: r for r in history(client, pro_user)}
    assert rows[old.file_id]["status"] == "deleted"
    assert rows[old.file_id]["deleted"] is True
    assert rows[old.file_id]["softDeletedAt"] is not None
    assert rows[fresh.file_id]["status"] == "available"

    # a day later the soft-deleted file goes for good, blob first
    later = now + DAY + timedelta(minutes=1)
    result = run_purge(later, grace=DAY)
    assert result.purged == 1
    assert not blob_exists(old.s3_key)
    assert files.get_file(old.file_id) is None
    # the fresh one has expired by then and is only soft-deleted
    assert files.get_file(fresh.file_id) is not None
    assert blob_exists(fresh.s3_key)


def test_purge_run_again_changes_nothing(pro_user: KeyedUser, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    kept(pro_user, tmp_path, "a.jpg", now - DAY * 3)
    first = run_purge(now, grace=DAY)
    again = run_purge(now, grace=DAY)
    assert first.soft_deleted == 1
    assert (again.soft_deleted, again.purged) == (0, 0)


def test_purge_stops_when_asked_and_a_second_run_finishes(
    pro_user: KeyedUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PAGE_SIZE", 2)  # several pages from a few records
    now = datetime.now(UTC)
    for i in range(5):
        kept(pro_user, tmp_path, f"{i}.jpg", now - DAY * 2)
    calls = iter(range(100))
    stopped = run_purge(now, grace=DAY, should_stop=lambda: next(calls) >= 3)
    assert stopped.complete is False
    assert stopped.soft_deleted == 3
    finished = run_purge(now, grace=DAY)
    assert finished.complete is True
    assert finished.scanned == 5
    assert finished.soft_deleted == 2
    final = run_purge(now + DAY * 2, grace=DAY)
    assert final.purged == 5
    assert files.scan_page(None, 10) == ([], None)


def test_download_after_24_hours_is_410(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    old = kept(pro_user, tmp_path, "old.jpg", datetime.now(UTC) - DAY - timedelta(seconds=5))
    r = client.get(f"/api/images/history/{old.file_id}/download", headers=bearer(pro_user))
    assert r.status_code == 410
    assert r.json()["ok"] is False


def test_someone_elses_file_is_404(client: TestClient, pro_user: KeyedUser, tmp_path: Path) -> None:
    mine = kept(pro_user, tmp_path, "mine.jpg", datetime.now(UTC))
    other = make_user("other@example.com", "pro")
    r = client.get(f"/api/images/history/{mine.file_id}/download", headers=bearer(other))
    assert r.status_code == 404
    assert history(client, other) == []
    r = client.get("/api/images/history/nope/download", headers=bearer(pro_user))
    assert r.status_code == 404


def test_history_needs_credentials(client: TestClient) -> None:
    assert client.get("/api/images/history").status_code == 401


def test_history_keeps_the_newest_fifty(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    for i in range(53):
        kept(pro_user, tmp_path, f"{i:02d}.jpg", start + timedelta(seconds=i))
    rows = history(client, pro_user)
    assert len(rows) == 50
    assert rows[0]["fileName"] == "52.jpg"
    assert rows[-1]["fileName"] == "03.jpg"


def test_history_html_fragment_escapes_file_names(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = client.post(
        "/api/images/edit-exif",
        headers=bearer(pro_user),
        files={"file": (XSS_NAME, photo.read_bytes())},
        data={"title": XSS, "description": '"><img src=x onerror=alert(1)>'},
    )
    assert r.status_code == 200, r.text
    page = client.get("/api/images/history", headers=bearer(pro_user))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<img" not in page.text
    assert html.escape(XSS_NAME, quote=False) in page.text
    seen = client.post("/api/images/view-exif", files={"file": ("x.jpg", r.content)}).json()
    assert seen["metadata"]["Title"] == XSS  # stored as given; only HTML output escapes it


def test_empty_history_html_says_so(client: TestClient, pro_user: KeyedUser) -> None:
    page = client.get("/api/images/history", headers=bearer(pro_user))
    assert "No processed images yet" in page.text


# admin


@pytest.fixture
def admin(aws: object) -> KeyedUser:
    return make_user("admin@example.com", "pro", admin=True)


def test_admin_endpoints_are_403_for_other_users(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    item = kept(pro_user, tmp_path, "a.jpg", datetime.now(UTC))
    for method, path in [
        ("GET", "/api/admin/files"),
        ("GET", f"/api/admin/files/{item.file_id}/download"),
        ("POST", "/api/admin/files/purge"),
    ]:
        r = client.request(method, path, headers=bearer(pro_user))
        assert r.status_code == 403, path
        assert r.json()["ok"] is False
    assert client.get("/api/admin/files").status_code == 401


def test_admin_table_filters_and_escapes(
    client: TestClient, admin: KeyedUser, pro_user: KeyedUser, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    live = kept(pro_user, tmp_path, f"{XSS}.jpg", now)
    gone = kept(pro_user, tmp_path, "gone.jpg", now - DAY * 2)
    own = kept(admin, tmp_path, "admin-own.jpg", now)
    run_purge(now, grace=DAY)

    page = client.get("/api/admin/files", headers=bearer(admin))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    assert all(f.file_id in page.text for f in (live, gone, own))

    deleted = client.get("/api/admin/files?status=deleted", headers=bearer(admin)).text
    assert gone.file_id in deleted and live.file_id not in deleted
    available = client.get("/api/admin/files?status=available", headers=bearer(admin)).text
    assert live.file_id in available and gone.file_id not in available
    mine = client.get(f"/api/admin/files?userId={admin.user_id}", headers=bearer(admin)).text
    assert own.file_id in mine and live.file_id not in mine
    one = client.get("/api/admin/files?limit=1", headers=bearer(admin)).text
    assert one.count("<tr data-id=") == 1

    for bad in ("status=everything", "limit=0", "limit=lots"):
        r = client.get(f"/api/admin/files?{bad}", headers=bearer(admin))
        assert r.status_code == 400, bad


def test_admin_downloads_a_soft_deleted_file_until_purged(
    client: TestClient, admin: KeyedUser, pro_user: KeyedUser, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    gone = kept(pro_user, tmp_path, "gone.jpg", now - DAY * 3)
    run_purge(now, grace=DAY)
    r = client.get(f"/api/admin/files/{gone.file_id}/download", headers=bearer(admin))
    assert r.status_code == 200
    assert r.content.startswith(b"\xff\xd8 processed")
    assert (
        client.get(
            f"/api/images/history/{gone.file_id}/download", headers=bearer(pro_user)
        ).status_code
        == 410
    )

    run_purge(now + DAY * 2, grace=DAY)
    r = client.get(f"/api/admin/files/{gone.file_id}/download", headers=bearer(admin))
    assert r.status_code == 404


def test_admin_purge_endpoint_reports_what_it_did(
    client: TestClient, admin: KeyedUser, pro_user: KeyedUser, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    kept(pro_user, tmp_path, "expired.jpg", now - DAY * 2)
    kept(pro_user, tmp_path, "fresh.jpg", now)
    r = client.post("/api/admin/files/purge", headers=bearer(admin))
    assert r.status_code == 200
    assert r.json() == {"ok": True, "scanned": 2, "softDeleted": 1, "purged": 0, "complete": True}


def test_missing_blob_is_404_not_a_broken_stream(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    item = kept(pro_user, tmp_path, "a.jpg", datetime.now(UTC))
    Blobs().delete(item.s3_key)
    r = client.get(f"/api/images/history/{item.file_id}/download", headers=bearer(pro_user))
    assert r.status_code == 404
    assert r.json()["ok"] is False


def test_admin_purge_out_of_time_stops_and_says_so(
    client: TestClient,
    admin: KeyedUser,
    pro_user: KeyedUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from exif_service.api.images import admin_router

    monkeypatch.setattr(admin_router, "PURGE_BUDGET_S", -1.0)
    kept(pro_user, tmp_path, "expired.jpg", datetime.now(UTC) - DAY * 2)
    body = client.post("/api/admin/files/purge", headers=bearer(admin)).json()
    assert (body["complete"], body["softDeleted"]) == (False, 0)
