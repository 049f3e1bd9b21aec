"""Bulk tools: a ZIP of up to 20 processed images, all or nothing, every file counted."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser
from tests.support.media import exiftool, make_jpeg

from exif_service.services.edit import unique_names
from exif_service.services.quota import used_today
from exif_service.store.accounts import get_user


@pytest.fixture(autouse=True)
def _engine_started_by_main_thread() -> None:
    from exif_service.engine.exiftool import get_pool

    get_pool().warm()


def bearer(user: KeyedUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.key}"}


def used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def uploads(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (name, data)) for name, data in named]


def history_count(client: TestClient, user: KeyedUser) -> int:
    r = client.get("/api/images/history", headers={**bearer(user), "Accept": "application/json"})
    return len(r.json()["images"])


def test_strip_bulk_returns_a_zip_with_deduplicated_names(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    data = photo.read_bytes()
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads(
            ("photo.jpg", data), ("photo.jpg", data), ("Photo.JPG", data), ("b.jpg", data)
        ),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert 'filename="cleaned-images.zip"' in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["photo.jpg", "photo (1).jpg", "Photo (2).JPG", "b.jpg"]
        out = tmp_path / "first.jpg"
        out.write_bytes(zf.read("photo.jpg"))
    tags: dict[str, Any] = json.loads(exiftool("-j", "-G1", str(out)))[0]
    assert "IFD0:Make" not in tags and "GPS:GPSLatitude" not in tags
    assert used(pro_user) == 4
    assert history_count(client, pro_user) == 4


def test_advanced_edit_bulk_writes_the_same_tags_to_every_file(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    files = [make_jpeg(tmp_path / f"{i}.jpg", seed=i).read_bytes() for i in range(3)]
    r = client.post(
        "/api/images/advanced-edit-bulk",
        headers=bearer(pro_user),
        files=uploads(*[(f"img{i}.jpg", d) for i, d in enumerate(files)]),
        data={"fields": json.dumps({"Copyright": "2026 Jane Doe", "Artist": "Jane Doe"})},
    )
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["img0.jpg", "img1.jpg", "img2.jpg"]
        for name in zf.namelist():
            out = tmp_path / f"out-{name}"
            out.write_bytes(zf.read(name))
            tags = json.loads(exiftool("-j", "-G1", str(out)))[0]
            assert tags["IFD0:Copyright"] == "2026 Jane Doe"
            assert tags["IFD0:Artist"] == "Jane Doe"
    assert used(pro_user) == 3


def test_one_bad_file_fails_the_batch_naming_it_and_charges_nothing(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    data = photo.read_bytes()
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads(("good.jpg", data), ("broken-notes.jpg", b"plain text"), ("c.jpg", data)),
    )
    assert r.status_code == 415
    body = r.json()
    assert body["ok"] is False
    assert body["message"].startswith("broken-notes.jpg: ")
    assert used(pro_user) == 0
    assert history_count(client, pro_user) == 0


def test_more_than_twenty_files_is_400(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    data = make_jpeg(tmp_path / "small.jpg", quality=10).read_bytes()
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads(*[(f"{i}.jpg", data) for i in range(21)]),
    )
    assert r.status_code == 400
    assert "20" in r.json()["message"]
    assert used(pro_user) == 0


def test_bulk_without_files_is_400(client: TestClient, pro_user: KeyedUser) -> None:
    r = client.post("/api/images/strip-exif-bulk", headers=bearer(pro_user), data={"fields": "{}"})
    assert r.status_code == 400


def test_bulk_is_403_with_upgrade_url_for_signed_in_free_users(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    from exif_service.store.sessions import create_session

    token, _ = create_session(free_user.user_id, timedelta(hours=1))
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers={"Cookie": f"exs_session={token}"},
        files=uploads(("a.jpg", photo.read_bytes())),
    )
    assert r.status_code == 403
    assert r.json()["upgradeUrl"] == "/pricing"
    assert used(free_user) == 0


def test_bulk_member_names_cannot_leave_the_extraction_folder(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    data = photo.read_bytes()
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads(("../../etc/passwd.jpg", data), ("..", data), ("C:\\x\\..\\y.jpg", data)),
    )
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
    assert names == ["passwd.jpg", "file", "y.jpg"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["a.jpg", "a.jpg", "a.jpg"], ["a.jpg", "a (1).jpg", "a (2).jpg"]),
        (["a (1).jpg", "a.jpg", "a.jpg"], ["a (1).jpg", "a.jpg", "a (2).jpg"]),
        (["noext", "noext"], ["noext", "noext (1)"]),
        (["dir/x.png", "other/x.png"], ["x.png", "x (1).png"]),
        (['a<b>:"c|?*.jpg', ".hidden.jpg"], ["a_b___c___.jpg", "hidden.jpg"]),
        # names macOS and Windows merge: case, trailing dots and spaces, Unicode forms
        (["Photo.JPG", "photo.jpg"], ["Photo.JPG", "photo (1).jpg"]),
        (["a", "a.", "a . "], ["a", "a (1)", "a (2)"]),
        (["caf\u00e9.jpg", "cafe\u0301.jpg"], ["caf\u00e9.jpg", "caf\u00e9 (1).jpg"]),
    ],
)
def test_archive_names_are_flat_safe_and_unique(given: list[str], expected: list[str]) -> None:
    assert unique_names(given) == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension_and_staying_unique() -> None:
    long_ascii = "A" * 1000 + ".jpg"
    long_utf8 = "\u00e9" * 300 + ".jpeg"  # two bytes a character
    names = unique_names([long_ascii, long_ascii, long_utf8, long_utf8])
    assert len(set(names)) == 4
    for name in names:
        assert len(name.encode()) <= 255
        assert name.endswith((".jpg", ".jpeg"))
    assert names[1].endswith(" (1).jpg") and names[3].endswith(" (1).jpeg")


def test_a_bulk_zip_of_very_long_names_extracts_on_a_real_file_system(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    data = photo.read_bytes()
    name = "A" * 1000 + ".jpg"
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads((name, data), (name, data)),
    )
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        zf.extractall(tmp_path / "out")  # OSError "File name too long" above 255 bytes
        members = zf.namelist()
    assert len(members) == 2 and all(m.endswith(".jpg") for m in members)
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_results_too_big_for_a_lambda_response_redirect_to_the_bucket(
    client: TestClient, pro_user: KeyedUser, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    from exif_service.api import delivery
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "true")
    get_settings.cache_clear()
    monkeypatch.setattr(delivery, "INLINE_RESPONSE_LIMIT", 1000)
    data = photo.read_bytes()
    single = client.post(
        "/api/images/strip-exif",
        headers=bearer(pro_user),
        files={"file": ("photo.jpg", data)},
        follow_redirects=False,
    )
    assert single.status_code == 303
    fetched = requests.get(single.headers["location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content.startswith(b"\xff\xd8")
    assert 'filename="photo.jpg"' in fetched.headers["content-disposition"]

    batch = client.post(
        "/api/images/strip-exif-bulk",
        headers=bearer(pro_user),
        files=uploads(("a.jpg", data), ("b.jpg", data)),
        follow_redirects=False,
    )
    assert batch.status_code == 303
    archive = requests.get(batch.headers["location"], timeout=10).content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.namelist() == ["a.jpg", "b.jpg"]
    assert used(pro_user) == 3
