"""Provenance and place over HTTP: files signed by the tests with the C2PA library, read by the
service, stripped and edited, and read back with ExifTool and the C2PA library as a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.integration.test_images_tools import bearer
from tests.support.media import draw, exiftool
from tests.support.provenance import (
    AI,
    CAPTURE,
    GENERATOR,
    SIGNER,
    ai_image,
    captured_image,
    credentials,
    edited_after_signing,
    iptc_only_ai,
    manifest_of,
    plain_jpeg,
    sign,
)
from tests.support.v1 import V1Stack, upload

from exif_service.domain.tags import parse_tag_name
from exif_service.engine.exiftool import get_pool
from exif_service.engine.operations import WriteTag, write_tags
from exif_service.engine.provenance import read_content_credentials
from exif_service.settings import get_settings


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("provenance")
    return {
        "ai": ai_image(folder),
        "capture": captured_image(folder),
        "edited": edited_after_signing(folder),
        "iptc": iptc_only_ai(folder),
        "plain": plain_jpeg(folder / "plain.jpg", seed=9),
    }


def _extract(stack: V1Stack, path: Path, **params: str) -> dict[str, Any]:
    r = upload(stack.client, path, key=stack.user.key, name=path.name, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _groups(data: bytes, folder: Path) -> set[str]:
    """The family-1 groups a user's own `exiftool -a -G1` lists for a downloaded file."""
    out = folder / "downloaded.jpg"
    out.write_bytes(data)
    return {line.split("]")[0].strip("[ ") for line in exiftool("-a", "-G1", str(out)).splitlines()}


def _jumbf_lines(path: Path) -> list[str]:
    text = exiftool("-a", "-G0", str(path))
    return [line for line in text.splitlines() if line.startswith("[JUMBF]")]


# -- reading ----------------------------------------------------------------------------------


def test_signed_ai_image_is_reported_ai_generated_with_signer_and_validation(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    provenance = _extract(stack, files["ai"])["metadata"]["provenance"]
    credentials_ = provenance["contentCredentials"]
    assert provenance["aiGenerated"] is True
    assert provenance["digitalSourceType"] == AI
    assert provenance["sources"] == ["c2pa"]
    assert credentials_["signer"] == SIGNER
    assert credentials_["claimGenerator"] == f"{GENERATOR} 1.0"
    assert credentials_["title"] == "ai"
    # signed by a throwaway root this server was never told to trust
    assert credentials_["validation"] == "untrusted"
    assert credentials_["validationErrors"] == ["signingCredential.untrusted"]
    assert credentials_["actions"] == [
        {
            "action": "c2pa.created",
            "digitalSourceType": AI,
            "softwareAgent": "Test Model 2",
            "when": "2026-01-02T03:04:05Z",
        }
    ]


def test_lookup_answers_the_same_provenance_from_the_stored_record(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    posted = _extract(stack, files["ai"])
    r = stack.client.get(f"/api/v1/extract/{posted['uuid']}", headers={"X-API-Key": stack.user.key})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["provenance"] == posted["metadata"]["provenance"]


def test_captured_image_is_not_ai_generated(stack: V1Stack, files: dict[str, Path]) -> None:
    provenance = _extract(stack, files["capture"])["metadata"]["provenance"]
    assert provenance["aiGenerated"] is False
    assert provenance["digitalSourceType"] == CAPTURE
    assert provenance["contentCredentials"]["validation"] == "untrusted"


def test_image_edited_after_signing_is_invalid(stack: V1Stack, files: dict[str, Path]) -> None:
    credentials_ = _extract(stack, files["edited"])["metadata"]["provenance"]["contentCredentials"]
    assert credentials_["validation"] == "invalid"
    assert "assertion.dataHash.mismatch" in credentials_["validationErrors"]


def test_iptc_label_alone_marks_an_image_ai_generated(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    provenance = _extract(stack, files["iptc"])["metadata"]["provenance"]
    assert provenance == {
        "contentCredentials": None,
        "aiGenerated": True,
        "digitalSourceType": AI,
        "sources": ["iptc"],
    }


def test_a_file_that_says_nothing_is_neither_ai_nor_captured(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    provenance = _extract(stack, files["plain"])["metadata"]["provenance"]
    assert provenance == {
        "contentCredentials": None,
        "aiGenerated": None,
        "digitalSourceType": None,
        "sources": [],
    }


def test_a_signer_under_a_trusted_root_is_valid(files: dict[str, Path]) -> None:
    found = read_content_credentials(files["ai"], "image/jpeg", trust_anchors=credentials().root)
    assert found is not None and found.validation == "valid"
    assert found.validation_errors == ()


def test_a_deployment_that_trusts_the_root_reports_its_signers_valid(
    stack: V1Stack, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_text(credentials().root, encoding="ascii")
    monkeypatch.setenv("EXIF_SERVICE_C2PA_TRUST_ANCHORS", str(roots))
    get_settings.cache_clear()
    try:
        found = _extract(stack, files["ai"])["metadata"]["provenance"]["contentCredentials"]
    finally:
        monkeypatch.delenv("EXIF_SERVICE_C2PA_TRUST_ANCHORS")
        get_settings.cache_clear()
    assert found["validation"] == "valid"
    assert found["validationErrors"] == []
    # edited after signing stays invalid whatever the deployment trusts
    assert (
        _extract(stack, files["edited"])["metadata"]["provenance"]["contentCredentials"][
            "validation"
        ]
        == "invalid"
    )


def test_a_damaged_manifest_is_reported_invalid_not_an_error(
    stack: V1Stack, files: dict[str, Path], tmp_path: Path
) -> None:
    data = bytearray(files["ai"].read_bytes())
    at = data.find(b"c2pa.signature")
    assert at > 0
    data[at + 40 : at + 140] = b"\x00" * 100  # the signature's bytes, overwritten
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(bytes(data))
    provenance = _extract(stack, damaged)["metadata"]["provenance"]
    assert provenance["contentCredentials"]["validation"] == "invalid"
    assert provenance["contentCredentials"]["validationErrors"]


def test_view_exif_puts_provenance_beside_gps(stack: V1Stack, files: dict[str, Path]) -> None:
    r = stack.client.post(
        "/api/images/view-exif", files={"file": ("ai.jpg", files["ai"].read_bytes())}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provenance"]["aiGenerated"] is True
    assert body["provenance"]["contentCredentials"]["signer"] == SIGNER
    assert "place" not in body  # not asked for


# -- place ------------------------------------------------------------------------------------

AREZZO = {
    "city": "Arezzo",
    "region": "Tuscany",
    "subregion": "Province of Arezzo",
    "country": "Italy",
    "countryCode": "IT",
    "timeZone": "Europe/Rome",
}


def test_gps_photo_is_reported_with_its_city_and_local_capture_time(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    metadata = _extract(stack, files["capture"], geolocation="true")["metadata"]
    place = metadata["place"]
    assert {k: place[k] for k in AREZZO} == AREZZO
    assert 0.3 < place["distanceKm"] < 1.0
    # the file says 10:00 without a zone; in Arezzo in May that is UTC+2
    assert metadata["capturedAtLocal"] == "2024-05-01T10:00:00+02:00"
    assert metadata["exif"]["DateTimeOriginal"] == "2024:05:01 10:00:00"  # never overwritten


def test_place_only_when_asked_and_null_without_a_position(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    assert "place" not in _extract(stack, files["capture"])["metadata"]
    metadata = _extract(stack, files["plain"], geolocation="true")["metadata"]
    assert metadata["place"] is None and metadata["capturedAtLocal"] is None


def test_lookup_and_view_exif_name_the_place_too(stack: V1Stack, files: dict[str, Path]) -> None:
    posted = _extract(stack, files["capture"])
    r = stack.client.get(
        f"/api/v1/extract/{posted['uuid']}",
        params={"geolocation": "true"},
        headers={"X-API-Key": stack.user.key},
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["place"]["city"] == "Arezzo"
    r = stack.client.post(
        "/api/images/view-exif",
        params={"geolocation": "true"},
        files={"file": ("capture.jpg", files["capture"].read_bytes())},
    )
    assert r.status_code == 200, r.text
    assert r.json()["place"]["city"] == "Arezzo"
    assert r.json()["capturedAtLocal"] == "2024-05-01T10:00:00+02:00"


@pytest.mark.parametrize("value", ["maybe", "2", "true,false"])
def test_a_malformed_geolocation_flag_is_a_400_in_each_envelope(
    stack: V1Stack, files: dict[str, Path], value: str
) -> None:
    r = upload(stack.client, files["plain"], key=stack.user.key, params={"geolocation": value})
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "geolocation must be true or false."}
    r = stack.client.post(
        "/api/images/view-exif",
        params={"geolocation": value},
        files={"file": ("p.jpg", files["plain"].read_bytes())},
    )
    assert r.status_code == 400
    assert r.json()["ok"] is False and "geolocation" in r.json()["message"]


def test_privacy_report_names_the_place_and_lists_the_manifest(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    r = upload(stack.client, files["capture"], key=stack.user.key, endpoint="/api/v1/privacy")
    assert r.status_code == 200, r.text
    body = r.json()
    location = [f for f in body["findings"] if f["category"] == "location"]
    assert location
    for finding in location:
        assert finding["why"].startswith("reveals a position 0.")
        assert finding["why"].endswith(" km from Arezzo, Tuscany, Italy")
    # the manifest is one finding, saying what a person recognises in it
    (manifest,) = [f for f in body["findings"] if f["category"] == "provenance"]
    assert manifest["tag"] == "JUMBF:all"
    entries, facts = manifest["value"].split(" entries; ", 1)
    assert int(entries) > 10
    assert facts == (
        "made with Provenance Test Generator; by Test Model 2; source: digitalCapture; "
        "titled capture"
    )
    for preset in ("safe", "all", "location", "sensitive"):
        removed = body["presets"][preset]["remove"]
        assert "JUMBF:JUMDLabel" in removed, preset
        assert not any(t.startswith("JUMBF:") for t in body["presets"][preset]["keep"])


# -- writing ----------------------------------------------------------------------------------


def _remove(stack: V1Stack, path: Path, **params: str) -> tuple[dict[str, Any], bytes, str]:
    r = upload(
        stack.client,
        path,
        key=stack.user.key,
        endpoint="/api/v1/remove",
        name=path.name,
        params=params,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    download = stack.client.get(f"/download-cleaned/{body['uuid']}")
    assert download.status_code == 200
    return body, download.content, download.headers["X-Content-Credentials"]


@pytest.mark.parametrize("preset", ["safe", "all", "location", "sensitive"])
def test_every_strip_removes_content_credentials_by_default(
    stack: V1Stack, files: dict[str, Path], tmp_path: Path, preset: str
) -> None:
    body, data, header = _remove(stack, files["capture"], preset=preset)
    assert body["contentCredentials"] == header == "removed"
    assert not {g for g in _groups(data, tmp_path) if g in ("JUMBF", "CBOR", "Jpeg2000")}
    out = tmp_path / "clean.jpg"
    out.write_bytes(data)
    assert not _jumbf_lines(out)
    assert manifest_of(out) is None


@pytest.mark.parametrize("preset", ["safe", "location"])
def test_keep_c2pa_keeps_the_manifest_and_says_it_no_longer_validates(
    stack: V1Stack, files: dict[str, Path], tmp_path: Path, preset: str
) -> None:
    body, data, header = _remove(stack, files["capture"], preset=preset, keep="c2pa")
    assert body["contentCredentials"] == header == "kept"
    assert any("no longer validate" in k for k in body["kept"])
    out = tmp_path / "kept.jpg"
    out.write_bytes(data)
    assert _jumbf_lines(out)
    store = manifest_of(out)
    assert store is not None and store["validation_state"] == "Invalid"
    # and the service itself reads it back as invalid
    again = _extract(stack, out)["metadata"]["provenance"]["contentCredentials"]
    assert again["validation"] == "invalid"


def test_a_file_without_credentials_says_none(stack: V1Stack, files: dict[str, Path]) -> None:
    body, _, header = _remove(stack, files["plain"])
    assert body["contentCredentials"] == header == "none"
    body, _, header = _remove(stack, files["iptc"], keep="c2pa")
    assert body["contentCredentials"] == header == "none"


def test_strip_exif_and_edit_exif_say_what_became_of_the_credentials(
    stack: V1Stack, files: dict[str, Path], tmp_path: Path
) -> None:
    auth = bearer(stack.user)
    data = files["ai"].read_bytes()
    r = stack.client.post("/api/images/strip-exif", headers=auth, files={"file": ("ai.jpg", data)})
    assert r.status_code == 200, r.text
    assert r.headers["X-Content-Credentials"] == "removed"
    assert "JUMBF" not in _groups(r.content, tmp_path)
    r = stack.client.post(
        "/api/images/edit-exif",
        headers=auth,
        files={"file": ("ai.jpg", data)},
        data={"title": "A new title"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Content-Credentials"] == "removed"
    out = tmp_path / "edited.jpg"
    out.write_bytes(r.content)
    assert not _jumbf_lines(out) and manifest_of(out) is None
    assert "A new title" in exiftool("-XMP:Title", str(out))
    r = stack.client.post(
        "/api/images/strip-exif",
        headers=auth,
        files={"file": ("plain.jpg", files["plain"].read_bytes())},
    )
    assert r.headers["X-Content-Credentials"] == "none"


def test_an_engine_write_on_a_signed_file_leaves_no_manifest(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "written.jpg"
    tag = WriteTag(parse_tag_name("EXIF:Artist"), "Someone")
    result = write_tags(get_pool(), files["ai"], out, [tag])
    assert result.content_credentials.value == "removed"
    assert not _jumbf_lines(out)
    assert json.loads(exiftool("-j", "-EXIF:Artist", str(out)))[0]["Artist"] == "Someone"


@pytest.mark.parametrize(
    ("fmt", "mime", "file_type"), [("PNG", "image/png", "PNG"), ("WEBP", "image/webp", "WEBP")]
)
def test_png_and_webp_credentials_are_read_removed_and_kept(
    stack: V1Stack, tmp_path: Path, fmt: str, mime: str, file_type: str
) -> None:

    plain = tmp_path / f"plain.{fmt.lower()}"
    draw(seed=2).save(plain, fmt)
    exiftool("-overwrite_original", "-XMP-dc:Creator=Jane Doe", str(plain))
    signed = sign(plain, tmp_path / f"signed.{fmt.lower()}", source_type=AI, title="s", mime=mime)
    provenance = _extract(stack, signed)["metadata"]["provenance"]
    assert provenance["aiGenerated"] is True
    assert provenance["contentCredentials"]["validation"] == "untrusted"

    body, data, header = _remove(stack, signed)
    assert body["contentCredentials"] == header == "removed"
    out = tmp_path / f"clean.{fmt.lower()}"
    out.write_bytes(data)
    assert not _jumbf_lines(out)
    with Image.open(out) as img:
        assert img.format == file_type and img.size == (320, 240)

    body, data, header = _remove(stack, signed, keep="c2pa")
    assert body["contentCredentials"] == header == "kept"
    out.write_bytes(data)
    assert _jumbf_lines(out)
    assert "Jane Doe" not in exiftool("-XMP:all", str(out))
    # the creator it signed is gone, so the record no longer matches the file
    again = _extract(stack, out)["metadata"]["provenance"]["contentCredentials"]
    assert again["validation"] == "invalid"
    assert any("no longer validate" in k for k in body["kept"])


def test_a_kept_manifest_that_nothing_touched_is_said_to_still_validate(
    stack: V1Stack, files: dict[str, Path]
) -> None:
    # the AI image has no location tags: the location strip changes no byte it signed
    body, _, header = _remove(stack, files["ai"], preset="location", keep="c2pa")
    assert body["contentCredentials"] == header == "kept"
    assert any("still validate" in k for k in body["kept"])


@pytest.mark.parametrize(
    "damage",
    [
        b"\xff\xd8\xff\xeb\x00",  # an APP11 header cut short
        b"\xff\xd8\xff\xeb\x00\x01JPjumb",  # a length shorter than the length field itself
        b"\xff\xd8\xff\xeb\xff\xffJP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00jumb" + b"\0" * 64,
    ],
)
def test_a_broken_jumbf_header_is_a_clear_answer_not_a_500(
    stack: V1Stack, tmp_path: Path, damage: bytes
) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(damage)
    for endpoint in ("/api/v1/extract", "/api/v1/remove"):
        r = upload(stack.client, path, key=stack.user.key, endpoint=endpoint)
        assert r.status_code in (200, 415, 422), r.text
        assert r.json()["success"] is (r.status_code == 200)


def test_the_readme_samples_say_what_the_readme_promises(stack: V1Stack, tmp_path: Path) -> None:
    """`make samples`: the AI image names its signer and state, the GPS photo its city."""
    from tests.support.samples import write_samples

    names = {path.name for path in write_samples(tmp_path)}
    assert names == {"ai.jpg", "capture.jpg", "edited.jpg", "iptc-ai.jpg", "roots.pem"}
    ai = _extract(stack, tmp_path / "ai.jpg")["metadata"]["provenance"]
    assert ai["aiGenerated"] is True
    assert ai["contentCredentials"]["signer"] == SIGNER
    assert ai["contentCredentials"]["validation"] == "untrusted"
    capture = _extract(stack, tmp_path / "capture.jpg", geolocation="true")["metadata"]
    assert capture["place"]["city"] == "Arezzo"
    assert capture["provenance"]["aiGenerated"] is False
