"""`?struct=true`: XMP structures as objects on v1 extract and lookup and on view-exif.

The files are written by the real ExifTool with structures (Flash, LocationCreated, DerivedFrom,
History, ArtworkOrObject) and the answers are compared with what a user's own ExifTool reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import KeyedUser
from tests.support.media import exiftool, make_jpeg, make_png
from tests.support.v1 import V1Stack, upload

from exif_service.services.quota import used_today
from exif_service.store.accounts import get_user
from exif_service.store.models import Extraction

FLASH = {
    "Fired": True,
    "Function": False,
    "Mode": "On",
    "RedEyeMode": False,
    "Return": "No return detection",
}
LOCATION = [{"City": "Paris", "CountryName": "France", "Sublocation": "Louvre"}]
DERIVED_FROM = {"DocumentID": "xmp.did:0001", "InstanceID": "xmp.iid:0002"}
HISTORY = [
    {"Action": "created", "SoftwareAgent": "Tests 1.0", "When": "2024:03:15 10:30:00"},
    {"Action": "saved", "Changed": "/metadata", "When": "2024:03:16 09:00:00"},
]
ARTWORK = [
    {"AOCreator": ["Leonardo da Vinci"], "AODateCreated": "1503:01:01", "AOTitle": "Mona Lisa"}
]
STRUCTURES = (
    "-EXIF:Flash=Fired",
    "-XMP-exif:Flash={Fired=True,Return=No return detection,Mode=On,Function=False,"
    "RedEyeMode=False}",
    "-XMP-iptcExt:LocationCreated={City=Paris,CountryName=France,Sublocation=Louvre}",
    "-XMP-xmpMM:DerivedFrom={DocumentID=xmp.did:0001,InstanceID=xmp.iid:0002}",
    "-XMP-xmpMM:History+={Action=created,When=2024:03:15 10:30:00,SoftwareAgent=Tests 1.0}",
    "-XMP-xmpMM:History+={Action=saved,When=2024:03:16 09:00:00,Changed=/metadata}",
    "-XMP-iptcExt:ArtworkOrObject={AOTitle=Mona Lisa,AOCreator=[Leonardo da Vinci],"
    "AODateCreated=1503:01:01}",
    "-XMP-dc:Title=Paris",
)
# Names of flattened structure fields, present only in the default form.
FLATTENED = ("FlashFired", "LocationCreatedCity", "DerivedFromDocumentID", "HistoryAction")


@pytest.fixture
def client(stack: V1Stack) -> TestClient:
    return stack.client


@pytest.fixture
def user(stack: V1Stack) -> KeyedUser:
    return stack.user


@pytest.fixture
def structured_jpeg(tmp_path: Path) -> Path:
    """A JPEG whose XMP holds structures, beside an EXIF Flash of the same bare name."""
    path = make_jpeg(tmp_path / "structured.jpg")
    exiftool("-q", "-overwrite_original", *STRUCTURES, str(path))
    return path


def own_xmp(path: Path, *options: str) -> dict[str, Any]:
    """The XMP group as the user's own `exiftool -j -G [options] -XMP:all` reads it."""
    record: dict[str, Any] = json.loads(exiftool("-j", "-G", *options, "-XMP:all", str(path)))[0]
    return {k.removeprefix("XMP:"): v for k, v in record.items() if k.startswith("XMP:")}


def holds_an_object(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(holds_an_object(v) for v in value)


def view(client: TestClient, path: Path, query: str = "") -> Response:
    files = {"file": (path.name, path.read_bytes())}
    return client.post(f"/api/images/view-exif{query}", files=files)


# v1 extract


def test_v1_extract_with_struct_true_gives_xmp_structures_as_objects(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    r = upload(client, structured_jpeg, key=user.key, params={"struct": "true"})
    assert r.status_code == 200, r.text
    xmp = r.json()["metadata"]["xmp"]
    assert xmp["Flash"] == FLASH
    assert xmp["LocationCreated"] == LOCATION
    assert xmp["DerivedFrom"] == DERIVED_FROM
    assert xmp["History"] == HISTORY  # each entry keeps its own agent and change
    assert xmp["ArtworkOrObject"] == ARTWORK
    assert xmp["Title"] == "Paris"
    assert xmp == own_xmp(structured_jpeg, "-struct")
    assert not set(FLATTENED) & set(xmp)


def test_v1_extract_with_struct_changes_only_the_xmp_group(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    flat = upload(client, structured_jpeg, key=user.key).json()["metadata"]
    structured = upload(client, structured_jpeg, key=user.key, params={"struct": "1"}).json()
    others = {g: tags for g, tags in structured["metadata"].items() if g != "xmp"}
    assert others == {g: tags for g, tags in flat.items() if g != "xmp"}
    assert structured["metadata"]["exif"]["Flash"] == "Fired"


def test_v1_extract_default_and_struct_false_stay_flattened(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    default = upload(client, structured_jpeg, key=user.key)
    explicit = upload(client, structured_jpeg, key=user.key, params={"struct": "false"})
    assert default.status_code == explicit.status_code == 200
    metadata = default.json()["metadata"]
    assert metadata == explicit.json()["metadata"]
    assert metadata["xmp"] == own_xmp(structured_jpeg)
    assert metadata["xmp"]["FlashFired"] is True
    assert metadata["xmp"]["HistoryAction"] == ["created", "saved"]
    assert not any(holds_an_object(v) for tags in metadata.values() for v in tags.values())
    assert set(default.json()) == {"success", "status", "fileName", "uuid", "metadata"}
    assert "structuredXmp" not in default.text and "structuredXmp" not in explicit.text


# v1 lookup: the file is gone, the stored extraction answers


def test_lookup_with_struct_true_answers_structured_from_the_stored_extraction(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    posted = upload(client, structured_jpeg, key=user.key).json()
    structured = client.get(f"/api/v1/extract/{posted['uuid']}", params={"struct": "true"})
    assert structured.status_code == 200, structured.text
    xmp = structured.json()["metadata"]["xmp"]
    assert xmp == own_xmp(structured_jpeg, "-struct")
    assert xmp["History"] == HISTORY and xmp["Flash"] == FLASH
    plain = client.get(f"/api/v1/extract/{posted['uuid']}", headers={"X-API-Key": user.key})
    assert plain.json()["metadata"] == posted["metadata"]
    assert set(plain.json()) == set(structured.json())
    assert "structuredXmp" not in plain.text + structured.text


def test_lookup_after_a_struct_extract_is_flat_by_default(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    posted = upload(client, structured_jpeg, key=user.key, params={"struct": "true"}).json()
    flat = upload(client, structured_jpeg, key=user.key).json()["metadata"]
    again = client.get(f"/api/v1/extract/{posted['uuid']}")
    assert again.json()["metadata"] == flat
    structured = client.get(f"/api/v1/extract/{posted['uuid']}?struct=true")
    assert structured.json()["metadata"] == posted["metadata"]


@pytest.mark.parametrize("xmp", [False, True], ids=["no-xmp", "plain-xmp"])
def test_file_whose_xmp_reads_the_same_structured_stores_nothing_more(
    client: TestClient, user: KeyedUser, tmp_path: Path, xmp: bool
) -> None:
    path = make_png(tmp_path / "a.png") if xmp else make_jpeg(tmp_path / "a.jpg")
    posted = upload(client, path, key=user.key, name=path.name).json()
    item = Extraction.get(posted["uuid"])
    assert item.metadata is not None and "structuredXmp" not in item.metadata
    structured = client.get(f"/api/v1/extract/{posted['uuid']}?struct=true")
    assert structured.json()["metadata"] == posted["metadata"]


def test_struct_lists_a_single_creator_as_exiftool_struct_does(
    client: TestClient, user: KeyedUser, photo: Path
) -> None:
    posted = upload(client, photo, key=user.key).json()
    assert posted["metadata"]["xmp"]["Creator"] == "Jane Doe"
    structured = client.get(f"/api/v1/extract/{posted['uuid']}?struct=true").json()
    assert structured["metadata"]["xmp"]["Creator"] == ["Jane Doe"]
    assert structured["metadata"]["xmp"] == own_xmp(photo, "-struct")


def test_large_report_with_structures_spills_to_s3_and_still_answers_structured(
    client: TestClient, user: KeyedUser, tmp_path: Path
) -> None:
    # a 180 KB description counted twice (flat and structured XMP) outgrows an inline item
    path = make_png(tmp_path / "big.png")
    text = tmp_path / "description.txt"
    text.write_text("word " * 36_000)
    exiftool(
        "-q", "-overwrite_original", f"-XMP-dc:Description<={text}", *STRUCTURES[3:6], str(path)
    )
    posted = upload(client, path, key=user.key, name="big.png")
    assert posted.status_code == 200, posted.text[:300]
    item = Extraction.get(posted.json()["uuid"])
    assert item.metadata is None and item.metadata_key
    r = client.get(f"/api/v1/extract/{posted.json()['uuid']}?struct=true")
    xmp = r.json()["metadata"]["xmp"]
    assert xmp["History"] == HISTORY and xmp["DerivedFrom"] == DERIVED_FROM
    assert xmp["Description"] == "word " * 36_000
    flat = client.get(f"/api/v1/extract/{posted.json()['uuid']}")
    assert flat.json()["metadata"] == posted.json()["metadata"]


# view-exif


def test_view_exif_with_struct_true_gives_structures_by_name(
    client: TestClient, structured_jpeg: Path
) -> None:
    r = view(client, structured_jpeg, "?struct=true")
    assert r.status_code == 200, r.text
    metadata = r.json()["metadata"]
    assert metadata["LocationCreated"] == LOCATION
    assert metadata["DerivedFrom"] == DERIVED_FROM
    assert metadata["History"] == HISTORY
    assert metadata["ArtworkOrObject"] == ARTWORK
    # EXIF keeps the bare name it has in the default form; the XMP structure is not lost
    assert metadata["Flash"] == "Fired"
    assert metadata["XMP:Flash"] == FLASH
    assert not set(FLATTENED) & set(metadata)
    assert r.json()["ok"] is True and r.json()["gps"] is None


def test_view_exif_default_stays_flattened(client: TestClient, structured_jpeg: Path) -> None:
    body = view(client, structured_jpeg).json()
    metadata = body["metadata"]
    assert metadata["FlashFired"] is True
    assert metadata["HistoryAction"] == ["created", "saved"]
    assert metadata["LocationCreatedCity"] == "Paris"
    assert not any(holds_an_object(v) for v in metadata.values())
    assert not [k for k in metadata if k.startswith("XMP:")]
    assert view(client, structured_jpeg, "?struct=false").json() == body


def test_view_exif_struct_keeps_the_position(client: TestClient, photo: Path) -> None:
    body = view(client, photo, "?struct=true").json()
    assert body["gps"] == {"lat": 48.8566, "lng": 2.3522}
    assert body["metadata"]["Make"] == "Canon"


# what never changes


def test_structured_answers_name_no_server_path_temp_name_or_engine_message(
    client: TestClient, user: KeyedUser, structured_jpeg: Path
) -> None:
    posted = upload(client, structured_jpeg, key=user.key, params={"struct": "true"}, name="a.jpg")
    looked_up = client.get(f"/api/v1/extract/{posted.json()['uuid']}?struct=true")
    viewed = view(client, structured_jpeg, "?struct=true")
    for r in (posted, looked_up, viewed):
        assert r.status_code == 200
        for leak in ("/tmp", "exs-", "input.jpg", "SourceFile", "Directory", "Warning"):
            assert leak not in r.text, leak


@pytest.mark.parametrize("value", ["maybe", "", "yes", "TRUE!"])
def test_bad_struct_value_is_400_in_the_v1_envelope_and_not_charged(
    client: TestClient, user: KeyedUser, structured_jpeg: Path, value: str
) -> None:
    account = get_user(user.user_id)
    assert account is not None
    before = used_today(account)
    posted = upload(client, structured_jpeg, key=user.key, params={"struct": value})
    assert posted.status_code == 400
    assert posted.json() == {"success": False, "error": "struct must be true or false."}
    assert used_today(account) == before
    stored = upload(client, structured_jpeg, key=user.key).json()
    r = client.get(f"/api/v1/extract/{stored['uuid']}", params={"struct": value})
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "struct must be true or false."}


def test_bad_struct_value_is_400_in_the_images_envelope(
    client: TestClient, structured_jpeg: Path
) -> None:
    r = view(client, structured_jpeg, "?struct=maybe")
    assert r.status_code == 400
    body = r.json()
    assert body["ok"] is False
    assert body["message"] == "struct must be true or false."
