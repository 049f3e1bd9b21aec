"""POST /api/v1/extract and GET /api/v1/extract/{uuid}, as the reference examples call them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user
from tests.support.media import exiftool, make_photo, make_png
from tests.support.v1 import V1Stack, upload, v1_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


@pytest.fixture
def client(stack: V1Stack) -> TestClient:
    return stack.client


@pytest.fixture
def pro_user(stack: V1Stack) -> KeyedUser:
    return stack.user


def test_extract_upload_with_header_key_returns_the_documented_shape(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = upload(client, photo, key=pro_user.key, name="image.jpg")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["status"] == "completed"
    assert body["fileName"] == "image.jpg"
    uuid.UUID(body["uuid"])
    exif = body["metadata"]["exif"]
    assert exif["Make"] == "Canon"
    assert exif["Model"] == "Canon EOS R5"
    assert exif["DateTimeOriginal"] == "2024:03:15 10:30:00"
    assert exif["ExposureTime"] == "1/1000"
    assert exif["ISO"] == 100
    assert body["metadata"]["iptc"]["By-line"] == "Jane Doe"
    assert body["metadata"]["File"]["Name"] == "image.jpg"
    assert body["metadata"]["File"]["Size"] == photo.stat().st_size
    assert body["metadata"]["File"]["Type"] == "image/jpeg"


def test_extract_with_key_in_query_parameter(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = upload(client, photo, key=pro_user.key, via_query=True)
    assert r.status_code == 200
    assert r.json()["metadata"]["exif"]["Make"] == "Canon"


def test_extract_png_reports_its_own_groups(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    r = upload(client, make_png(tmp_path / "a.png"), key=pro_user.key, name="a.png")
    assert r.status_code == 200
    metadata = r.json()["metadata"]
    assert metadata["File"]["Type"] == "image/png"
    assert metadata["xmp"]["Title"] == "png"
    assert "PNG" in metadata


def test_response_names_no_server_path_or_temp_file(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = upload(client, photo, key=pro_user.key, name="holiday.jpg")
    text = r.text
    assert "/tmp" not in text
    assert "exs-" not in text
    assert "input.jpg" not in text
    assert "Directory" not in r.json()["metadata"]["File"]
    assert "FilePermissions" not in r.json()["metadata"]["File"]


def test_get_extraction_without_a_key_returns_the_stored_result(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    posted = upload(client, photo, key=pro_user.key, name="image.jpg").json()
    r = client.get(f"/api/v1/extract/{posted['uuid']}")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["status"] == "completed"
    assert body["filename"] == "image.jpg"
    assert body["metadata"] == posted["metadata"]


def test_get_extraction_with_the_owners_key(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    posted = upload(client, photo, key=pro_user.key).json()
    r = client.get(f"/api/v1/extract/{posted['uuid']}", headers={"X-API-Key": pro_user.key})
    assert r.status_code == 200
    r = client.get(f"/api/v1/extract/{posted['uuid']}?key={pro_user.key}")
    assert r.status_code == 200


def test_get_another_users_extraction_with_a_key_is_404(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    posted = upload(client, photo, key=pro_user.key).json()
    other = make_user(f"other-{uuid.uuid4().hex[:6]}@example.com", "pro")
    r = client.get(f"/api/v1/extract/{posted['uuid']}", headers={"X-API-Key": other.key})
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": "No extraction found with the given UUID."}


def test_get_unknown_uuid_is_404_with_the_documented_message(client: TestClient) -> None:
    r = client.get(f"/api/v1/extract/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": "No extraction found with the given UUID."}


def test_get_garbage_uuid_is_404(client: TestClient) -> None:
    for garbage in ("not-a-uuid", "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --", "x" * 300):
        r = client.get(f"/api/v1/extract/{garbage}")
        assert r.status_code == 404, garbage
        assert r.json()["success"] is False


def test_get_with_invalid_key_is_401(client: TestClient, pro_user: KeyedUser, photo: Path) -> None:
    posted = upload(client, photo, key=pro_user.key).json()
    r = client.get(f"/api/v1/extract/{posted['uuid']}", headers={"X-API-Key": "exs_wrong"})
    assert r.status_code == 401
    assert r.json() == {"success": False, "error": "Invalid API key"}


def test_large_report_is_kept_out_of_the_item_and_still_served(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    # six 60 KB text tags make a report larger than a DynamoDB item may hold inline
    big = make_photo(tmp_path / "big.jpg")
    tags = [
        "XMP-xmp:Label",
        "EXIF:UserComment",
        "XMP-dc:Rights",
        "XMP-photoshop:Instructions",
        "XMP-dc:Source",
        "XMP-xmp:Nickname",
    ]
    exiftool("-q", "-overwrite_original", *(f"-{t}={t[-1] * 60000}" for t in tags), str(big))
    posted = upload(client, big, key=pro_user.key)
    assert posted.status_code == 200
    assert len(json.dumps(posted.json()["metadata"])) > 300 * 1024
    again = client.get(f"/api/v1/extract/{posted.json()['uuid']}")
    assert again.status_code == 200
    assert again.json()["metadata"] == posted.json()["metadata"]
