"""The single-file image tools over HTTP: moto for AWS, the real ExifTool for the files."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import KeyedUser, make_user
from tests.support.media import exiftool, make_jpeg

from exif_service.domain.accounts import Account
from exif_service.services.quota import used_today
from exif_service.store.accounts import get_user


def bearer(user: KeyedUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.key}"}


def session_cookie(user: KeyedUser) -> dict[str, str]:
    """A signed-in browser's cookie (free users cannot use API keys)."""
    from exif_service.store.sessions import create_session

    token, _ = create_session(user.user_id, timedelta(hours=1))
    return {"Cookie": f"exs_session={token}"}


def account(user: KeyedUser) -> Account:
    found = get_user(user.user_id)
    assert found is not None
    return found


def post_file(
    client: TestClient,
    path: str,
    data: bytes,
    headers: dict[str, str] | None = None,
    upload_name: str = "photo.jpg",
    **fields: str,
) -> Response:
    files = {"file": (upload_name, data)}
    return client.post(path, headers=headers or {}, files=files, data=fields)


def tags_of(data: bytes, tmp_path: Path, *args: str) -> dict[str, Any]:
    """What a user's own ExifTool reads from a downloaded file (`-G1`, structures kept)."""
    out = tmp_path / "downloaded.jpg"
    out.write_bytes(data)
    record: dict[str, Any] = json.loads(exiftool("-j", "-G1", "-struct", *args, str(out)))[0]
    return record


def assert_clean_error(r: Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["ok"] is False and body["message"]
    for leak in ("/tmp", "exs-", "Traceback", "ExifTool", "Warning:"):
        assert leak not in r.text
    return body


# view-exif


def test_view_exif_is_public_and_gives_signed_gps(client: TestClient, photo: Path) -> None:
    r = post_file(client, "/api/images/view-exif", photo.read_bytes())
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["metadata"]["Make"] == "Canon"
    assert body["metadata"]["ExposureTime"] == "1/1000"
    assert body["gps"] == {"lat": 48.8566, "lng": 2.3522}
    assert body["metadata"]["GPSLatitude"] == 48.8566
    assert body["metadata"]["FileName"] == "photo.jpg"
    assert "Directory" not in body["metadata"]


def test_view_exif_south_west_coordinates_are_negative(client: TestClient, tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "south.jpg")
    exiftool(
        "-q",
        "-overwrite_original",
        "-GPS:GPSLatitude=33.8688",
        "-GPS:GPSLatitudeRef=S",
        "-GPS:GPSLongitude=70.6693",
        "-GPS:GPSLongitudeRef=W",
        str(path),
    )
    r = post_file(client, "/api/images/view-exif", path.read_bytes())
    assert r.json()["gps"] == {"lat": -33.8688, "lng": -70.6693}


def test_view_exif_without_gps_has_null_gps(client: TestClient, tmp_path: Path) -> None:
    r = post_file(client, "/api/images/view-exif", make_jpeg(tmp_path / "a.jpg").read_bytes())
    assert r.status_code == 200
    assert r.json()["gps"] is None


def test_view_exif_reads_a_public_url(
    client: TestClient, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")  # the origin is local
    get_settings.cache_clear()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(photo.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{photo.name}"
        r = client.post("/api/images/view-exif", json={"url": url})
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert r.status_code == 200, r.text
    assert r.json()["gps"] == {"lat": 48.8566, "lng": 2.3522}


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x.jpg", "http://169.254.169.254/latest/", "file:///etc/passwd"]
)
def test_view_exif_refuses_private_and_non_http_urls(client: TestClient, url: str) -> None:
    r = client.post("/api/images/view-exif", json={"url": url})
    assert_clean_error(r, 400)


def test_view_exif_without_a_file_is_400(client: TestClient) -> None:
    r = client.post("/api/images/view-exif", data={"title": "no file"})
    assert_clean_error(r, 400)


def test_view_exif_with_json_body_is_400(client: TestClient) -> None:
    r = client.post("/api/images/view-exif", json={"file": "photo.jpg"})
    assert_clean_error(r, 400)


def test_text_file_is_415_without_engine_details(client: TestClient) -> None:
    r = post_file(
        client, "/api/images/view-exif", b"just some text\n" * 20, upload_name="notes.txt"
    )
    assert_clean_error(r, 415)


def test_file_over_25_mb_is_413(client: TestClient, pro_user: KeyedUser) -> None:
    big = b"\xff\xd8" + b"\0" * (25 * 1024 * 1024 + 100 * 1024)
    r = post_file(client, "/api/images/strip-exif", big, bearer(pro_user))
    body = assert_clean_error(r, 413)
    assert "25 MB" in body["message"]
    assert used_today(account(pro_user)) == 0


# auth


def test_tools_without_credentials_are_401(client: TestClient, photo: Path) -> None:
    r = post_file(client, "/api/images/strip-exif", photo.read_bytes())
    assert_clean_error(r, 401)


def test_tools_with_unknown_key_are_401(client: TestClient, photo: Path) -> None:
    headers = {"Authorization": "Bearer exs_" + "x" * 43}
    r = post_file(client, "/api/images/edit-exif", photo.read_bytes(), headers, title="t")
    assert_clean_error(r, 401)


def test_free_users_api_key_is_403_with_upgrade_url(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    r = post_file(client, "/api/images/strip-exif", photo.read_bytes(), bearer(free_user))
    body = assert_clean_error(r, 403)
    assert body["upgradeUrl"] == "/pricing"


def test_free_user_signed_in_can_strip(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    r = post_file(client, "/api/images/strip-exif", photo.read_bytes(), session_cookie(free_user))
    assert r.status_code == 200
    assert used_today(account(free_user)) == 1


# edit-exif

EDIT_FORM = {
    "title": "Mountain Sunset",
    "description": "A sunset over the mountains",
    "author": "Jane Doe",
    "keywords": "sunset, mountains,landscape",
    "copyright": "2026 Jane Doe",
    "creditLine": "Jane Doe Photography",
    "source": "EXIFCut",
    "webStatementUrl": "https://example.com/license/mountain-sunset",
    "licensorName": "Jane Doe Licensing",
    "licensorUrl": "https://example.com/contact-license",
    "usageTerms": "Editorial use only unless licensed",
    "creatorUrl": "https://janedoe.com",
    "creatorEmail": "rights@janedoe.com",
    "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
}


def test_edit_exif_writes_every_field_to_exif_iptc_and_xmp(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(
        client, "/api/images/edit-exif", photo.read_bytes(), bearer(pro_user), **EDIT_FORM
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"].startswith('attachment; filename="photo.jpg"')
    tags = tags_of(r.content, tmp_path)
    expected = {
        "XMP-dc:Title": "Mountain Sunset",
        "IPTC:ObjectName": "Mountain Sunset",
        "IFD0:ImageDescription": "A sunset over the mountains",
        "IPTC:Caption-Abstract": "A sunset over the mountains",
        "XMP-dc:Description": "A sunset over the mountains",
        "IFD0:Artist": "Jane Doe",
        "IPTC:By-line": "Jane Doe",
        "XMP-dc:Creator": ["Jane Doe"],
        "IPTC:Keywords": ["sunset", "mountains", "landscape"],
        "XMP-dc:Subject": ["sunset", "mountains", "landscape"],
        "IFD0:Copyright": "2026 Jane Doe",
        "IPTC:CopyrightNotice": "2026 Jane Doe",
        "XMP-dc:Rights": "2026 Jane Doe",
        "IPTC:Credit": "Jane Doe Photography",
        "XMP-photoshop:Credit": "Jane Doe Photography",
        "IPTC:Source": "EXIFCut",
        "XMP-photoshop:Source": "EXIFCut",
        "XMP-xmpRights:WebStatement": EDIT_FORM["webStatementUrl"],
        "XMP-xmpRights:UsageTerms": "Editorial use only unless licensed",
        "XMP-iptcCore:CreatorContactInfo": {
            "CiEmailWork": "rights@janedoe.com",
            "CiUrlWork": "https://janedoe.com",
        },
        "XMP-iptcExt:DigitalSourceType": EDIT_FORM["digitalSourceType"],
        "XMP-plus:Licensor": [
            {"LicensorName": "Jane Doe Licensing", "LicensorURL": EDIT_FORM["licensorUrl"]}
        ],
    }
    for tag, value in expected.items():
        assert tags.get(tag) == value, tag
    # append mode keeps what was there
    assert tags["IFD0:Make"] == "Canon"


def test_edit_exif_keeps_non_latin_text_in_iptc(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(
        client, "/api/images/edit-exif", photo.read_bytes(), bearer(pro_user), title="Zürich 東京"
    )
    assert tags_of(r.content, tmp_path)["IPTC:ObjectName"] == "Zürich 東京"


def test_edit_exif_overwrite_clears_existing_metadata(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(
        client,
        "/api/images/edit-exif",
        photo.read_bytes(),
        bearer(pro_user),
        title="Only this",
        mode="overwrite",
    )
    tags = tags_of(r.content, tmp_path)
    assert tags["XMP-dc:Title"] == "Only this"
    assert "IFD0:Make" not in tags
    assert "GPS:GPSLatitude" not in tags
    assert "ICC_Profile:ProfileDescription" in tags


def test_edit_exif_overwrite_without_fields_only_clears(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(
        client, "/api/images/edit-exif", photo.read_bytes(), bearer(pro_user), mode="overwrite"
    )
    assert r.status_code == 200, r.text
    tags = tags_of(r.content, tmp_path)
    assert "IFD0:Make" not in tags and "XMP-dc:Title" not in tags


def test_edit_exif_web_file_name_names_the_download(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = post_file(
        client,
        "/api/images/edit-exif",
        photo.read_bytes(),
        bearer(pro_user),
        title="t",
        webFileName="../sunset-beach",
    )
    assert r.headers["content-disposition"].startswith('attachment; filename="sunset-beach.jpg"')


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, "at least one"),
        ({"mode": "replace", "title": "x"}, "mode"),
        ({"creatorEmail": "not-an-email"}, "creatorEmail"),
        ({"webStatementUrl": "javascript:alert(1)"}, "webStatementUrl"),
        ({"keywords": " , ,"}, "keywords"),
    ],
)
def test_edit_exif_bad_fields_are_400_naming_the_field(
    client: TestClient, pro_user: KeyedUser, photo: Path, fields: dict[str, str], named: str
) -> None:
    r = post_file(client, "/api/images/edit-exif", photo.read_bytes(), bearer(pro_user), **fields)
    assert named in assert_clean_error(r, 400)["message"]
    assert used_today(account(pro_user)) == 0


def test_edit_exif_value_with_line_break_is_400(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = post_file(
        client,
        "/api/images/edit-exif",
        photo.read_bytes(),
        bearer(pro_user),
        title="x\n-FileName=../../evil.jpg",
    )
    assert_clean_error(r, 400)


# seo-exif

SEO_FORM = {
    "name": "John Doe",
    "title": "Sunset Beach",
    "description": "Beautiful sunset at the beach",
    "destination": "Hawaii",
    "city": "Honolulu",
    "keywords": "sunset,beach,hawaii",
    "category": "Travel",
    "url": "https://example.com",
}


def test_seo_exif_writes_place_and_author_for_admins(
    client: TestClient, aws: object, photo: Path, tmp_path: Path
) -> None:
    admin = make_user("admin@example.com", "pro", admin=True)
    r = post_file(
        client,
        "/api/images/seo-exif",
        photo.read_bytes(),
        bearer(admin),
        webFileName="seo-photo.jpg",
        **SEO_FORM,
    )
    assert r.status_code == 200, r.text
    assert 'filename="seo-photo.jpg"' in r.headers["content-disposition"]
    tags = tags_of(r.content, tmp_path)
    assert tags["IPTC:City"] == "Honolulu"
    assert tags["XMP-photoshop:State"] == "Hawaii"
    # seo-exif appends: list tags keep the photo's own items (tests/integration/test_list_tags.py)
    assert tags["XMP-dc:Creator"] == ["Jane Doe", "John Doe"]
    assert tags["XMP-dc:Subject"] == ["sunset", "beach", "hawaii"]
    assert tags["XMP-xmpRights:WebStatement"] == "https://example.com"


def test_seo_exif_is_403_for_non_admins(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = post_file(client, "/api/images/seo-exif", photo.read_bytes(), bearer(pro_user), **SEO_FORM)
    assert_clean_error(r, 403)


def test_seo_exif_missing_required_fields_are_named(
    client: TestClient, aws: object, photo: Path
) -> None:
    admin = make_user("admin@example.com", "pro", admin=True)
    form = {k: v for k, v in SEO_FORM.items() if k not in {"city", "category"}}
    r = post_file(client, "/api/images/seo-exif", photo.read_bytes(), bearer(admin), **form)
    assert "city, category" in assert_clean_error(r, 400)["message"]


# advanced-edit


def test_advanced_edit_writes_any_tag_with_typed_values(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    fields = {
        "Title": "Sunset",
        "Artist": "Jane",
        "Orientation": 1,
        "GPSLatitude": -48.8566,
        "GPSLongitude": 2.3522,
        "IPTC.Keywords": ["one", "two"],
        "XMP-xmpRights:Marked": True,
        "SerialNumber": None,
    }
    r = post_file(
        client,
        "/api/images/advanced-edit",
        photo.read_bytes(),
        bearer(pro_user),
        fields=json.dumps(fields),
        mode="append",
    )
    assert r.status_code == 200, r.text
    tags = tags_of(r.content, tmp_path, "-n")
    assert tags["XMP-dc:Title"] == "Sunset"
    assert tags["IFD0:Artist"] == "Jane"
    assert tags["IFD0:Orientation"] == 1  # the number, not a printed name containing "1"
    assert tags["IPTC:Keywords"] == ["one", "two"]
    assert tags["XMP-xmpRights:Marked"] is True
    assert "ExifIFD:SerialNumber" not in tags
    assert tags["GPS:GPSLatitudeRef"] == "S"  # the sign became the reference
    assert tags["Composite:GPSLatitude"] == -48.8566


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"NoSuchTag": "x"}, "NoSuchTag"),
        ({"Bogus:Title": "x"}, "Bogus:Title"),
        ({"FileSize": 3}, "FileSize"),
        ({"ExposureTime": "fast"}, "ExposureTime"),
        ({"FileName": "../../etc/passwd"}, "FileName"),
        ({"Geotag": "/etc/passwd"}, "Geotag"),
        ({"j": "/etc/exif-service.json"}, "j"),
        ({"JSON": "/etc/exif-service.json"}, "JSON"),
        ({"csv": "/etc/exif-service.csv"}, "csv"),
        ({"TagsFromFile": "/etc/passwd"}, "TagsFromFile"),
        ({"addTagsFromFile": "/etc/passwd"}, "addTagsFromFile"),
        ({"System:Directory": "/tmp"}, "System:Directory"),
        ({"-execute": "x"}, "-execute"),
        ({"Title": {"nested": "object"}}, "Title"),
        ({"Title": [["nested"]]}, "Title"),
    ],
)
def test_advanced_edit_refuses_bad_tags_naming_them(
    client: TestClient, pro_user: KeyedUser, photo: Path, fields: dict[str, Any], named: str
) -> None:
    r = post_file(
        client,
        "/api/images/advanced-edit",
        photo.read_bytes(),
        bearer(pro_user),
        fields=json.dumps(fields),
    )
    assert named in assert_clean_error(r, 400)["message"]
    assert used_today(account(pro_user)) == 0


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", "{}", '{"a": NaN}', "[" * 5000])
def test_advanced_edit_malformed_fields_are_400(
    client: TestClient, pro_user: KeyedUser, photo: Path, raw: str
) -> None:
    r = post_file(
        client, "/api/images/advanced-edit", photo.read_bytes(), bearer(pro_user), fields=raw
    )
    assert_clean_error(r, 400)


# geo-exif


def test_geo_exif_round_trip_with_negative_coordinates(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(
        client,
        "/api/images/geo-exif",
        photo.read_bytes(),
        bearer(pro_user),
        latitude="-33.8688",
        longitude="-151.2093",
        altitude="-12.5",
    )
    assert r.status_code == 200, r.text
    tags = tags_of(r.content, tmp_path, "-n")
    assert tags["GPS:GPSLatitudeRef"] == "S"
    assert tags["GPS:GPSLongitudeRef"] == "W"
    assert tags["GPS:GPSAltitudeRef"] == 1
    assert tags["GPS:GPSLatitude"] == pytest.approx(33.8688)
    assert tags["XMP-exif:GPSLatitude"] == pytest.approx(-33.8688)
    assert tags["XMP-exif:GPSLongitude"] == pytest.approx(-151.2093)
    assert tags["Composite:GPSAltitude"] == pytest.approx(-12.5)
    seen = post_file(client, "/api/images/view-exif", r.content).json()
    assert seen["gps"] == {"lat": -33.8688, "lng": -151.2093}


@pytest.mark.parametrize(
    "form",
    [
        {"latitude": "90.5", "longitude": "0"},
        {"latitude": "0", "longitude": "-180.01"},
        {"latitude": "north", "longitude": "0"},
        {"latitude": "nan", "longitude": "0"},
        {"longitude": "10"},
        {"latitude": "1", "longitude": "1", "altitude": "high"},
    ],
)
def test_geo_exif_invalid_coordinates_are_400(
    client: TestClient, pro_user: KeyedUser, photo: Path, form: dict[str, str]
) -> None:
    r = post_file(client, "/api/images/geo-exif", photo.read_bytes(), bearer(pro_user), **form)
    assert_clean_error(r, 400)


# strip-exif


def test_strip_exif_returns_the_clean_file(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    r = post_file(client, "/api/images/strip-exif", photo.read_bytes(), bearer(pro_user))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert 'filename="photo.jpg"' in r.headers["content-disposition"]
    tags = tags_of(r.content, tmp_path)
    for gone in ("IFD0:Make", "GPS:GPSLatitude", "IPTC:By-line", "XMP-dc:Title"):
        assert gone not in tags
    assert used_today(account(pro_user)) == 1


def test_storage_failure_is_500_without_internals_and_refunds(
    client: TestClient, pro_user: KeyedUser, photo: Path, aws: Any
) -> None:
    from exif_service.store.aws import client as aws_client

    s3 = aws_client("s3")
    s3.delete_bucket(Bucket=aws.bucket)
    r = post_file(client, "/api/images/strip-exif", photo.read_bytes(), bearer(pro_user))
    body = assert_clean_error(r, 500)
    assert body["requestId"] == r.headers["x-request-id"]
    assert aws.bucket not in r.text
    assert used_today(account(pro_user)) == 0
