"""An uploaded file is written to disk once, as it streams in, and capped on the way.

The upload limit is lowered to 1 MB here so the cap under test is the streaming one: a file a
little over the limit still fits in the body cap's slack for multipart framing, so only the
count kept while the file part is written can refuse it.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user
from tests.support.media import exiftool, make_photo

from exif_service.settings import Settings, get_settings

LIMIT = 1024 * 1024


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every temp file and directory of the request (uploads, workspaces) goes here."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch, aws: Settings) -> Iterator[TestClient]:
    monkeypatch.setenv("EXIF_SERVICE_MAX_UPLOAD_BYTES", str(LIMIT))
    get_settings.cache_clear()
    from exif_service.local.app import create_local_app

    yield TestClient(create_local_app())


@pytest.fixture
def user(aws: Settings) -> KeyedUser:
    return make_user("streaming@example.com", "pro")


def _padded_photo(tmp_path: Path, size: int) -> bytes:
    """A real photo with camera tags, padded to exactly `size` bytes after its end marker."""
    data = make_photo(tmp_path / "photo.jpg").read_bytes()
    assert len(data) < size
    return data + b"\0" * (size - len(data))


def _requests(key: str) -> dict[str, tuple[str, dict[str, str], dict[str, str]]]:
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return {
        "v1 extract": ("/api/v1/extract", {"X-API-Key": key}, {}),
        "v1 remove": ("/api/v1/remove", {"X-API-Key": key}, {}),
        "images strip-exif": ("/api/images/strip-exif", {"Authorization": f"Bearer {key}"}, {}),
        "imagekit upload": (
            "/api/v1/files/upload",
            {"Authorization": f"Basic {basic}"},
            {"fileName": "photo.jpg"},
        ),
    }


ENVELOPES = {
    "v1 extract": {"success": False, "error": "File too large: the limit is 1 MB."},
    "v1 remove": {"success": False, "error": "File too large: the limit is 1 MB."},
}


@pytest.mark.parametrize(
    "surface", ["v1 extract", "v1 remove", "images strip-exif", "imagekit upload"]
)
def test_file_just_over_the_limit_is_refused_while_streaming_and_leaves_no_file(
    small_limit: TestClient, user: KeyedUser, temp_root: Path, tmp_path: Path, surface: str
) -> None:
    body = _padded_photo(tmp_path, LIMIT + 16 * 1024)  # within the body cap's framing slack
    path, headers, fields = _requests(user.key)[surface]
    r = small_limit.post(path, headers=headers, files={"file": ("photo.jpg", body)}, data=fields)
    assert r.status_code == 413, r.text
    if surface in ENVELOPES:
        assert r.json() == ENVELOPES[surface]
    elif surface == "images strip-exif":
        assert r.json()["ok"] is False and "1 MB" in r.json()["message"]
    else:
        assert set(r.json()) == {"message", "help"} and "1 MB" in r.json()["message"]
    assert list(temp_root.iterdir()) == []


def test_body_far_over_the_limit_is_refused_and_leaves_no_file(
    small_limit: TestClient, user: KeyedUser, temp_root: Path, tmp_path: Path
) -> None:
    body = _padded_photo(tmp_path, 3 * LIMIT)
    r = small_limit.post(
        "/api/v1/extract", headers={"X-API-Key": user.key}, files={"file": ("photo.jpg", body)}
    )
    assert r.status_code == 413
    assert r.json() == ENVELOPES["v1 extract"]
    assert list(temp_root.iterdir()) == []


def test_file_at_the_limit_is_read_whole_and_its_files_are_removed_afterwards(
    small_limit: TestClient, user: KeyedUser, temp_root: Path, tmp_path: Path
) -> None:
    body = _padded_photo(tmp_path, LIMIT)
    r = small_limit.post(
        "/api/v1/extract", headers={"X-API-Key": user.key}, files={"file": ("photo.jpg", body)}
    )
    assert r.status_code == 200, r.text
    metadata = r.json()["metadata"]
    # the engine saw every byte that was sent, and the camera tags in them
    sent = tmp_path / "sent.jpg"
    sent.write_bytes(body)
    own = json.loads(exiftool("-j", "-G", "-n", "-FileSize", "-Model", str(sent)))[0]
    flat = json.dumps(metadata)
    assert own["EXIF:Model"] in flat
    assert own["File:FileSize"] == LIMIT
    assert list(temp_root.iterdir()) == []


def test_stripped_upload_reads_back_without_the_camera_tags(
    small_limit: TestClient, user: KeyedUser, temp_root: Path, tmp_path: Path
) -> None:
    body = make_photo(tmp_path / "photo.jpg").read_bytes()
    r = small_limit.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {user.key}"},
        files={"file": ("photo.jpg", body)},
    )
    assert r.status_code == 200, r.text
    out = tmp_path / "stripped.jpg"
    out.write_bytes(r.content)
    tags = json.loads(exiftool("-j", "-G1", str(out)))[0]
    assert not any(name.startswith(("GPS:", "IFD0:Model")) for name in tags)
    assert list(temp_root.iterdir()) == []
