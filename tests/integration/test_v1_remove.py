"""POST /api/v1/remove and GET /download-cleaned/{uuid}: a clean file, under the caller's name."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.support.media import SRGB, exiftool, make_photo
from tests.support.v1 import V1Stack, upload, v1_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


@pytest.fixture(scope="module")
def module_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_photo(tmp_path_factory.mktemp("remove") / "photo.jpg")


def _remove(stack: V1Stack, photo: Path, name: str = "photo.jpg", **params: str) -> dict[str, str]:
    r = upload(
        stack.client, photo, key=stack.user.key, endpoint="/api/v1/remove", name=name, params=params
    )
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def _download(client: TestClient, body: dict[str, str]) -> tuple[bytes, str]:
    r = client.get(body["downloadUrl"])
    assert r.status_code == 200, r.text
    return r.content, r.headers["content-disposition"]


def _tags(data: bytes, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / f"{uuid.uuid4().hex}.jpg"
    path.write_bytes(data)
    record: dict[str, object] = json.loads(exiftool("-j", "-G", "-a", str(path)))[0]
    return record


def test_remove_returns_the_documented_shape_with_an_absolute_download_url(
    stack: V1Stack, module_photo: Path
) -> None:
    body = _remove(stack, module_photo)
    assert body["success"] is True
    assert body["status"] == "completed"
    uuid.UUID(body["uuid"])
    assert body["downloadUrl"] == f"http://testserver/download-cleaned/{body['uuid']}"


def test_public_base_url_setting_shapes_the_download_url(
    stack: V1Stack, module_photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_BASE_URL", "https://exif.example.com/")
    get_settings.cache_clear()
    body = _remove(stack, module_photo)
    assert body["downloadUrl"] == f"https://exif.example.com/download-cleaned/{body['uuid']}"


def test_downloaded_file_has_no_metadata_but_keeps_icc_and_orientation(
    stack: V1Stack, module_photo: Path, tmp_path: Path
) -> None:
    data, _ = _download(stack.client, _remove(stack, module_photo))
    tags = _tags(data, tmp_path)
    text = json.dumps(tags)
    for secret in ("Canon", "Jane Doe", "SN123456", "Paris", "made by the tests"):
        assert secret not in text
    assert not any(k.startswith(("IPTC:", "XMP:", "EXIF:GPS")) for k in tags)
    assert tags["EXIF:Orientation"] == "Rotate 90 CW"
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as img:
        assert img.info["icc_profile"] == SRGB
    with (
        Image.open(io.BytesIO(data), formats=["JPEG"]) as a,
        Image.open(module_photo, formats=["JPEG"]) as b,
    ):
        assert a.tobytes() == b.tobytes()


def test_keep_none_removes_colour_profile_and_orientation(
    stack: V1Stack, module_photo: Path, tmp_path: Path
) -> None:
    data, _ = _download(stack.client, _remove(stack, module_photo, keep="none"))
    tags = _tags(data, tmp_path)
    assert "EXIF:Orientation" not in tags
    assert not any(k.startswith("ICC_Profile:") for k in tags)


@pytest.mark.parametrize(
    ("sent", "ascii_name", "utf8_name"),
    [
        ("holiday.jpg", "holiday.jpg", "holiday.jpg"),
        ("Ærøskøbing ферма 写真.jpg", None, "Ærøskøbing ферма 写真.jpg"),
        ("-all=.jpg", "-all_.jpg", "-all=.jpg"),
        ("a|b.jpg", "a_b.jpg", "a|b.jpg"),
        ("../../etc/passwd.jpg", "passwd.jpg", "passwd.jpg"),
        ("semi;colon,x.jpg", "semi_colon_x.jpg", "semi;colon,x.jpg"),
    ],
)
def test_download_keeps_the_callers_file_name(
    stack: V1Stack, module_photo: Path, sent: str, ascii_name: str | None, utf8_name: str
) -> None:
    body = _remove(stack, module_photo, name=sent)
    data, disposition = _download(stack.client, body)
    assert data[:2] == b"\xff\xd8"
    assert disposition.startswith("attachment;")
    assert "\n" not in disposition and "\r" not in disposition
    star = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(star) == utf8_name
    plain = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert plain.isascii()
    if ascii_name is not None:
        assert plain == ascii_name


def test_remove_response_keeps_the_callers_file_name(stack: V1Stack, module_photo: Path) -> None:
    body = _remove(stack, module_photo, name="IMG 0001.JPG")
    assert body["fileName"] == "IMG 0001.JPG"


def test_download_after_24_hours_is_410(stack: V1Stack, module_photo: Path) -> None:
    from exif_service.store.models import Extraction

    body = _remove(stack, module_photo)
    item = Extraction.get(body["uuid"])
    assert item.download_expires_at is not None
    created = item.created_at
    assert item.download_expires_at - created == timedelta(hours=24)
    # move the clock: the record now says its 24 hours ended a second ago
    item.update(
        actions=[Extraction.download_expires_at.set(datetime.now(UTC) - timedelta(seconds=1))]
    )
    r = stack.client.get(body["downloadUrl"])
    assert r.status_code == 410
    assert r.json()["success"] is False
    assert "24 hours" in r.json()["error"]


def test_download_just_before_expiry_still_works(stack: V1Stack, module_photo: Path) -> None:
    from exif_service.store.models import Extraction

    body = _remove(stack, module_photo)
    item = Extraction.get(body["uuid"])
    item.update(
        actions=[Extraction.download_expires_at.set(datetime.now(UTC) + timedelta(minutes=1))]
    )
    assert stack.client.get(body["downloadUrl"]).status_code == 200


def test_download_of_unknown_or_garbage_uuid_is_404(stack: V1Stack) -> None:
    for job in (str(uuid.uuid4()), "nope", "..%2F..%2Fetc"):
        r = stack.client.get(f"/download-cleaned/{job}")
        assert r.status_code == 404, job
        assert r.json()["success"] is False


def test_download_of_an_extraction_uuid_is_404(stack: V1Stack, module_photo: Path) -> None:
    extracted = upload(stack.client, module_photo, key=stack.user.key).json()
    assert stack.client.get(f"/download-cleaned/{extracted['uuid']}").status_code == 404


def test_download_can_redirect_to_a_short_lived_presigned_url(
    stack: V1Stack, module_photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    body = _remove(stack, module_photo, name="ferie.jpg")
    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "true")
    get_settings.cache_clear()
    r = stack.client.get(body["downloadUrl"], follow_redirects=False)
    assert r.status_code == 302
    location = r.headers["location"]
    assert "X-Amz-Expires=300" in location
    assert "ferie.jpg" in unquote(location)


def test_remove_of_a_format_exiftool_cannot_write_is_415(stack: V1Stack, tmp_path: Path) -> None:
    from tests.support.media import draw

    bmp = tmp_path / "a.bmp"
    draw().save(bmp, "BMP")
    r = upload(stack.client, bmp, key=stack.user.key, endpoint="/api/v1/remove", name="a.bmp")
    assert r.status_code == 415
    assert r.json()["success"] is False


def test_cleaned_file_is_smaller_than_the_original(
    stack: V1Stack, module_photo: Path, tmp_path: Path
) -> None:
    body = _remove(stack, module_photo)
    data, _ = _download(stack.client, body)
    assert len(data) < module_photo.stat().st_size


def test_download_of_a_cleaned_file_gone_from_storage_is_404_not_a_broken_200(
    stack: V1Stack, module_photo: Path
) -> None:
    from exif_service.store.blobs import Blobs
    from exif_service.store.models import Extraction

    body = _remove(stack, module_photo)
    key = Extraction.get(body["uuid"]).result_key
    assert key is not None
    Blobs().delete(key)  # the bucket's lifecycle rule got there first
    r = stack.client.get(body["downloadUrl"])
    assert r.status_code == 404
    assert r.json()["success"] is False
