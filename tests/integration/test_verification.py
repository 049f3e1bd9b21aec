"""Verify-after-write: a file the engine cannot clean or write fully is never handed back.

The dirty file here is real: a WebP carrying a RIFF INFO chunk (`IART`, the artist). ExifTool
reads it but cannot delete it, so `-all=` leaves the artist's name in the "clean" file. The
engine's re-read sees it, tries once more by name, and answers 422 on every surface, charging
nothing and storing nothing.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser
from tests.support.media import SRGB, draw, exiftool, make_photo

from exif_service.domain.errors import VerificationFailed
from exif_service.domain.fields import EditMode, GeoPoint, geo_assignments
from exif_service.domain.privacy import Preset, StripPlan
from exif_service.engine.exiftool import get_pool
from exif_service.engine.operations import strip_metadata
from exif_service.services.edit import write_operation
from exif_service.services.quota import used_today
from exif_service.services.sources import LocalFile
from exif_service.store.accounts import get_user

_ARTIST = "Jane Doe"


def make_webp_with_riff_info(path: Path, artist: str = _ARTIST) -> Path:
    """A WebP whose RIFF INFO chunk names the artist (as some encoders and editors write)."""
    draw().save(path, "WEBP", icc_profile=SRGB)
    data = path.read_bytes()
    text = artist.encode() + b"\x00"
    sub = b"IART" + struct.pack("<I", len(text)) + text + (b"\x00" if len(text) % 2 else b"")
    info = b"INFO" + sub
    body = data[12:] + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body)
    assert f"RIFF:Artist': '{artist}'" in repr(_riff_tags(path))
    return path


def _riff_tags(path: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads(exiftool("-j", "-G1", "-RIFF:all", str(path)))[0]
    return record


def _used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def test_engine_refuses_a_strip_that_leaves_the_artist(tmp_path: Path) -> None:
    src = make_webp_with_riff_info(tmp_path / "in.webp")
    dst = tmp_path / "out.webp"
    with pytest.raises(VerificationFailed) as caught:
        strip_metadata(get_pool(), src, dst, StripPlan(Preset.ALL))
    assert "Artist" in caught.value.message
    assert "WEBP" in caught.value.message
    assert not dst.exists()  # nothing dirty left behind for anyone to pick up


def test_v1_remove_answers_422_charges_nothing_and_keeps_nothing(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    src = make_webp_with_riff_info(tmp_path / "in.webp")
    before = _used(pro_user)
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("portrait.webp", src.read_bytes())},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False
    assert "Artist" in body["error"] and "not returned" in body["error"]
    for leak in ("/tmp", "exs-", "Traceback", "ExifTool", "Warning"):
        assert leak not in r.text
    assert _used(pro_user) == before


def test_strip_exif_answers_422_in_its_envelope_and_charges_nothing(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    src = make_webp_with_riff_info(tmp_path / "in.webp")
    before = _used(pro_user)
    r = client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {pro_user.key}"},
        files={"file": ("portrait.webp", src.read_bytes())},
    )
    assert r.status_code == 422, r.text
    assert r.json()["ok"] is False and "Artist" in r.json()["message"]
    assert _used(pro_user) == before
    history = client.get(
        "/api/images/history",
        headers={"Authorization": f"Bearer {pro_user.key}", "Accept": "application/json"},
    )
    assert history.status_code == 200
    assert "portrait.webp" not in history.text


def test_bulk_strip_fails_whole_naming_the_dirty_file(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    dirty = make_webp_with_riff_info(tmp_path / "in.webp")
    clean = make_photo(tmp_path / "ok.jpg")
    before = _used(pro_user)
    r = client.post(
        "/api/images/strip-exif-bulk",
        headers={"Authorization": f"Bearer {pro_user.key}"},
        files=[
            ("files", ("ok.jpg", clean.read_bytes())),
            ("files", ("portrait.webp", dirty.read_bytes())),
        ],
    )
    assert r.status_code == 422, r.text
    assert "portrait.webp" in r.json()["message"]
    assert _used(pro_user) == before


def test_verified_file_responses_say_so(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "in.jpg")
    auth = {"Authorization": f"Bearer {pro_user.key}"}
    for path, form in (
        ("/api/images/strip-exif", {}),
        ("/api/images/edit-exif", {"title": "Harbour"}),
        ("/api/images/geo-exif", {"latitude": "1.5", "longitude": "2.5"}),
    ):
        r = client.post(
            path, headers=auth, files={"file": ("a.jpg", photo.read_bytes())}, data=form
        )
        assert r.status_code == 200, r.text
        assert r.headers["x-metadata-verified"] == "true"
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("a.jpg", photo.read_bytes())},
    )
    assert r.json()["verified"] is True
    assert "kept" not in r.json()


def test_cli_remove_refuses_to_write_a_dirty_output(tmp_path: Path) -> None:
    src = make_webp_with_riff_info(tmp_path / "in.webp")
    out = tmp_path / "clean.webp"
    result = subprocess.run(
        [sys.executable, "-m", "exif_service.cli", "remove", str(src), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Artist" in json.loads(result.stderr.strip().splitlines()[-1])["error"]
    assert not out.exists()


def test_geotag_leaves_no_old_position_in_any_group(tmp_path: Path) -> None:
    """A JPEG with coordinates in EXIF, XMP-exif and the IPTC extension's LocationCreated."""
    src = make_photo(tmp_path / "in.jpg")
    exiftool(
        "-q",
        "-overwrite_original",
        "-XMP-exif:GPSLatitude=48.8566",
        "-XMP-exif:GPSLongitude=2.3522",
        "-XMP-iptcExt:LocationCreatedGPSLatitude=48.8566",
        "-XMP-iptcExt:LocationCreatedGPSLongitude=2.3522",
        str(src),
    )
    point = GeoPoint(-33.8688, 151.2093)
    local = LocalFile(path=src, file_name="in.jpg", size=src.stat().st_size)
    out = write_operation(get_pool(), geo_assignments(point), EditMode.APPEND, point)(local)
    record = json.loads(exiftool("-j", "-a", "-G1", "-n", "-*GPS*", str(out.path)))[0]
    coordinates = {k: v for k, v in record.items() if "Latitude" in k or "Longitude" in k}
    assert coordinates
    for key, value in coordinates.items():
        if key.endswith("Ref"):
            continue
        assert abs(abs(float(value)) - (33.8688 if "Latitude" in key else 151.2093)) < 1e-4, key
    assert b"48.8566" not in out.path.read_bytes()
