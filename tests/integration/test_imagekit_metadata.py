"""The ImageKit metadata object on real files: engine + pixels + presenter, over HTTP."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.conftest import KeyedUser
from tests.support.media import SRGB, draw, exiftool

from exif_service.domain.phash import phash_distance
from exif_service.engine.pixels import inspect_image

# The documented example's `exif` object (a Canon EOS 40D picture saved by GIMP).
REFERENCE_EXIF: dict[str, dict[str, Any]] = {
    "image": {
        "Make": "Canon",
        "Model": "Canon EOS 40D",
        "Orientation": 1,
        "XResolution": 72,
        "YResolution": 72,
        "ResolutionUnit": 2,
        "Software": "GIMP 2.4.5",
        "ModifyDate": "2008:07:31 10:38:11",
        "YCbCrPositioning": 2,
        "ExifOffset": 214,
        "GPSInfo": 978,
    },
    "thumbnail": {
        "Compression": 6,
        "XResolution": 72,
        "YResolution": 72,
        "ResolutionUnit": 2,
        "ThumbnailOffset": 1090,
        "ThumbnailLength": 1378,
    },
    "exif": {
        "ExposureTime": 0.00625,
        "FNumber": 7.1,
        "ExposureProgram": 1,
        "ISO": 100,
        "ExifVersion": "0221",
        "DateTimeOriginal": "2008:05:30 15:56:01",
        "CreateDate": "2008:05:30 15:56:01",
        "ShutterSpeedValue": 7.375,
        "ApertureValue": 5.625,
        "ExposureCompensation": 0,
        "MeteringMode": 5,
        "Flash": 9,
        "FocalLength": 135,
        "SubSecTime": "00",
        "SubSecTimeOriginal": "00",
        "SubSecTimeDigitized": "00",
        "FlashpixVersion": "0100",
        "ColorSpace": 1,
        "ExifImageWidth": 100,
        "ExifImageHeight": 68,
        "InteropOffset": 948,
        "FocalPlaneXResolution": 4438.356164383562,
        "FocalPlaneYResolution": 4445.969125214408,
        "FocalPlaneResolutionUnit": 2,
        "CustomRendered": 0,
        "ExposureMode": 1,
        "WhiteBalance": 0,
        "SceneCaptureType": 0,
    },
    "gps": {"GPSVersionID": [2, 2, 0, 0]},
    "interoperability": {"InteropIndex": "R98", "InteropVersion": "0100"},
    "makernote": {},
}
# Where these sit in the file depends on its layout (and the thumbnail's bytes), not its tags.
LAYOUT_DEPENDENT = {"ExifOffset", "GPSInfo", "InteropOffset", "ThumbnailOffset", "ThumbnailLength"}


def make_reference_photo(path: Path) -> Path:
    """A 100x68 JPEG with an sRGB profile, 72 dpi and the example's EXIF tags and thumbnail."""
    draw((100, 68), seed=3).save(path, "JPEG", quality=85, icc_profile=SRGB, dpi=(72, 72))
    thumb = path.with_name("thumb.jpg")
    draw((40, 27), seed=3).save(thumb, "JPEG", quality=70)
    tags = {
        "IFD0:Make": "Canon",
        "IFD0:Model": "Canon EOS 40D",
        "IFD0:Orientation#": "1",
        "IFD0:XResolution": "72",
        "IFD0:YResolution": "72",
        "IFD0:ResolutionUnit#": "2",
        "IFD0:Software": "GIMP 2.4.5",
        "IFD0:ModifyDate": "2008:07:31 10:38:11",
        "IFD0:YCbCrPositioning#": "2",
        "IFD1:Compression#": "6",
        "IFD1:XResolution": "72",
        "IFD1:YResolution": "72",
        "IFD1:ResolutionUnit#": "2",
        "ExifIFD:ExposureTime": "1/160",
        "ExifIFD:FNumber": "7.1",
        "ExifIFD:ExposureProgram#": "1",
        "ExifIFD:ISO": "100",
        "ExifIFD:ExifVersion": "0221",
        "ExifIFD:DateTimeOriginal": "2008:05:30 15:56:01",
        "ExifIFD:CreateDate": "2008:05:30 15:56:01",
        # ExifTool takes these as seconds and an f-number and stores their APEX values
        "ExifIFD:ShutterSpeedValue#": repr(2**-7.375),
        "ExifIFD:ApertureValue#": repr(2 ** (5.625 / 2)),
        "ExifIFD:ExposureCompensation": "0",
        "ExifIFD:MeteringMode#": "5",
        "ExifIFD:Flash#": "9",
        "ExifIFD:FocalLength": "135",
        "ExifIFD:SubSecTime": "00",
        "ExifIFD:SubSecTimeOriginal": "00",
        "ExifIFD:SubSecTimeDigitized": "00",
        "ExifIFD:FlashpixVersion": "0100",
        "ExifIFD:ColorSpace#": "1",
        "ExifIFD:ExifImageWidth": "100",
        "ExifIFD:ExifImageHeight": "68",
        "ExifIFD:FocalPlaneXResolution": "324000/73",
        "ExifIFD:FocalPlaneYResolution": "2592000/583",
        "ExifIFD:FocalPlaneResolutionUnit#": "2",
        "ExifIFD:CustomRendered#": "0",
        "ExifIFD:ExposureMode#": "1",
        "ExifIFD:WhiteBalance#": "0",
        "ExifIFD:SceneCaptureType#": "0",
        "GPS:GPSVersionID": "2.2.0.0",
        "InteropIFD:InteropIndex": "R98",
        "InteropIFD:InteropVersion": "0100",
    }
    args = [f"-{k}={v}" for k, v in tags.items()]
    exiftool("-q", "-overwrite_original", *args, f"-ThumbnailImage<={thumb}", str(path))
    thumb.unlink()
    return path


def basic(key: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def upload(client: TestClient, key: str, path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(key),
            files={"file": (path.name, fh)},
            data={"fileName": path.name, **fields},
        )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def metadata_of(client: TestClient, key: str, path: Path) -> dict[str, Any]:
    file_id = upload(client, key, path)["fileId"]
    r = client.get(f"/v1/files/{file_id}/metadata", headers=basic(key))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_metadata_matches_the_documented_example_field_for_field(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    photo = make_reference_photo(tmp_path / "canon-40d.jpg")
    meta = metadata_of(client, pro_user.key, photo)

    assert set(meta) >= {"height", "width", "size", "format", "quality", "pHash", "exif"}
    assert (meta["width"], meta["height"]) == (100, 68)
    assert meta["size"] == photo.stat().st_size
    assert meta["format"] == "jpg"
    assert meta["hasColorProfile"] is True
    assert meta["density"] == 72
    assert meta["hasTransparency"] is False
    assert 80 <= meta["quality"] <= 90
    assert len(meta["pHash"]) == 16 and int(meta["pHash"], 16) >= 0
    assert set(meta["exif"]) == set(REFERENCE_EXIF)
    for section, tags in REFERENCE_EXIF.items():
        got = meta["exif"][section]
        for name, expected in tags.items():
            assert name in got, f"{section}.{name} missing"
            if name in LAYOUT_DEPENDENT:
                assert isinstance(got[name], int) and got[name] > 0, f"{section}.{name}"
            else:
                assert got[name] == expected, f"{section}.{name}: {got[name]!r}"
                assert type(got[name]) is type(expected), f"{section}.{name} type"
    assert meta["exif"]["makernote"] == {}


def test_directory_offsets_point_inside_the_exif_block(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    photo = make_reference_photo(tmp_path / "offsets.jpg")
    exif = metadata_of(client, pro_user.key, photo)["exif"]
    data = photo.read_bytes()
    tiff_start = data.index(b"Exif\x00\x00") + 6
    thumb = exif["thumbnail"]
    start = tiff_start + thumb["ThumbnailOffset"]
    assert data[start : start + 2] == b"\xff\xd8"  # the thumbnail JPEG starts there
    assert thumb["ThumbnailLength"] > 100
    assert exif["image"]["ExifOffset"] < exif["exif"]["InteropOffset"]


def test_rotated_camera_picture_reports_stored_size_and_gps_as_stored(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    meta = metadata_of(client, pro_user.key, photo)
    assert (meta["width"], meta["height"]) == (320, 240)  # as stored, not as shown
    assert meta["exif"]["image"]["Orientation"] == 6
    assert meta["exif"]["exif"]["ExposureTime"] == 0.001
    gps = meta["exif"]["gps"]
    assert gps["GPSLatitudeRef"] == "N"
    degrees, minutes, seconds = gps["GPSLatitude"]
    assert degrees + minutes / 60 + seconds / 3600 == pytest.approx(48.8566, abs=1e-6)


def test_png_with_a_transparent_pixel_has_transparency(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    img = draw().convert("RGBA")
    img.putpixel((5, 5), (0, 0, 0, 0))
    img.save(tmp_path / "holes.png")
    meta = metadata_of(client, pro_user.key, tmp_path / "holes.png")
    assert meta["format"] == "png"
    assert meta["hasTransparency"] is True
    assert meta["quality"] == 0
    assert meta["exif"]["image"] == {}


def test_png_with_an_alpha_channel_but_every_pixel_opaque_has_no_transparency(
    tmp_path: Path,
) -> None:
    draw().convert("RGBA").save(tmp_path / "opaque.png")
    facts = inspect_image(tmp_path / "opaque.png", 10_000_000)
    assert facts is not None and facts.has_transparency is False


def test_palette_transparency_counts_only_when_a_pixel_uses_the_transparent_entry(
    tmp_path: Path,
) -> None:
    unused = Image.new("P", (32, 32), 1)
    unused.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    unused.save(tmp_path / "unused.gif", transparency=0)
    used = unused.copy()
    used.putpixel((3, 3), 0)
    used.save(tmp_path / "used.gif", transparency=0)
    facts_unused = inspect_image(tmp_path / "unused.gif", 10_000_000)
    facts_used = inspect_image(tmp_path / "used.gif", 10_000_000)
    assert facts_unused is not None and facts_unused.has_transparency is False
    assert facts_used is not None and facts_used.has_transparency is True


@pytest.mark.parametrize("quality", [30, 50, 75, 90, 95])
def test_jpeg_quality_is_estimated_from_the_quantisation_tables(
    tmp_path: Path, quality: int
) -> None:
    path = tmp_path / f"q{quality}.jpg"
    draw().save(path, "JPEG", quality=quality)
    facts = inspect_image(path, 10_000_000)
    assert facts is not None and facts.quality == quality


def test_density_comes_from_the_files_resolution(tmp_path: Path) -> None:
    draw().save(tmp_path / "print.png", dpi=(300, 300))
    facts = inspect_image(tmp_path / "print.png", 10_000_000)
    assert facts is not None and facts.density == 300


def test_visually_identical_pictures_hash_within_distance_four(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    original = draw((800, 600), seed=5)
    original.save(tmp_path / "a.jpg", "JPEG", quality=92)
    original.save(tmp_path / "b.jpg", "JPEG", quality=40)  # re-encoded
    original.resize((400, 300)).save(tmp_path / "c.png")  # resized, other format
    original.save(tmp_path / "d.jpg", "JPEG", quality=92)
    exiftool("-q", "-overwrite_original", "-Artist=someone", str(tmp_path / "d.jpg"))
    exiftool("-q", "-overwrite_original", "-all=", str(tmp_path / "d.jpg"))  # stripped
    hashes = [
        metadata_of(client, pro_user.key, tmp_path / n)["pHash"]
        for n in ("a.jpg", "b.jpg", "c.png", "d.jpg")
    ]
    assert all(phash_distance(hashes[0], h) <= 4 for h in hashes[1:]), hashes


def test_unrelated_pictures_hash_far_apart(tmp_path: Path) -> None:
    hashes = []
    for seed in (1, 60, 130):
        path = tmp_path / f"s{seed}.jpg"
        draw((640, 480), seed=seed).rotate(seed, expand=False).save(path, "JPEG")
        facts = inspect_image(path, 10_000_000)
        assert facts is not None
        hashes.append(facts.phash)
    assert phash_distance(hashes[0], hashes[1]) > 10
    assert phash_distance(hashes[1], hashes[2]) > 10


def test_phash_is_taken_from_the_picture_as_shown_after_exif_rotation(tmp_path: Path) -> None:
    upright = draw((480, 320), seed=9)
    upright.save(tmp_path / "upright.jpg", "JPEG", quality=95)
    # stored turned on its side, with Orientation 6 telling viewers to turn it back
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "side.jpg", quality=95)
    exiftool("-q", "-overwrite_original", "-IFD0:Orientation#=6", str(tmp_path / "side.jpg"))
    a = inspect_image(tmp_path / "upright.jpg", 10_000_000)
    b = inspect_image(tmp_path / "side.jpg", 10_000_000)
    assert a is not None and b is not None
    assert phash_distance(a.phash, b.phash) <= 4


def test_picture_with_more_pixels_than_allowed_is_refused_with_413(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_MAX_IMAGE_PIXELS", "1000000")
    get_settings.cache_clear()
    buf = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buf, "PNG")  # 9 megapixels in a few kB
    path = tmp_path / "bomb.png"
    path.write_bytes(buf.getvalue())
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": ("bomb.png", fh)},
            data={"fileName": "bomb.png"},
        )
    assert r.status_code == 413
    assert set(r.json()) == {"message", "help"}
    assert "pixels" in r.json()["message"]


def test_damaged_jpeg_gets_a_4xx_without_engine_details(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    good = tmp_path / "good.jpg"
    draw().save(good, "JPEG")
    path = tmp_path / "broken.jpg"
    path.write_bytes(good.read_bytes()[:300])
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": ("broken.jpg", fh)},
            data={"fileName": "broken.jpg"},
        )
    assert 400 <= r.status_code < 500
    assert "/tmp" not in r.text and "exiftool" not in r.text.lower()


def test_video_reports_duration_bitrate_and_codecs(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(make_mp4(seconds=12, width=640, height=360, mdat_bytes=30_000))
    uploaded = upload(client, pro_user.key, path, responseFields="metadata")
    assert uploaded["fileType"] == "non-image"
    assert (uploaded["width"], uploaded["height"]) == (640, 360)
    meta = uploaded["metadata"]
    assert meta["format"] == "mp4"
    assert meta["duration"] == 12
    assert meta["bitRate"] == 20  # kbps: 30,000 bytes of media over 12 s
    assert meta["videoCodec"] == "h264"
    assert meta["audioCodec"] == "aac"
    assert meta["pHash"] is None
    assert uploaded["duration"] == 12 and uploaded["videoCodec"] == "h264"


# A hand-built MP4 skeleton (one H.264 video and one AAC audio track, no samples): enough for
# ExifTool to read what the metadata object shows for a video.
def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24) + payload)


def make_mp4(
    seconds: int = 12, width: int = 640, height: int = 360, mdat_bytes: int = 30000
) -> bytes:
    ts = 1000
    mvhd = _full(
        b"mvhd",
        0,
        struct.pack(">IIII", 0, 0, ts, seconds * ts)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\0" * 10
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + b"\0" * 24
        + struct.pack(">I", 3),
    )

    def trak(track_id: int, handler: bytes, entry: bytes, w: int = 0, h: int = 0) -> bytes:
        tkhd = _full(
            b"tkhd",
            0,
            struct.pack(">IIIII", 0, 0, track_id, 0, seconds * ts)
            + b"\0" * 8
            + struct.pack(">hhhH", 0, 0, 0x100 if handler == b"soun" else 0, 0)
            + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
            + struct.pack(">II", w << 16, h << 16),
        )
        mdhd = _full(
            b"mdhd", 0, struct.pack(">IIII", 0, 0, ts, seconds * ts) + struct.pack(">HH", 0x55C4, 0)
        )
        hdlr = _full(b"hdlr", 0, struct.pack(">I", 0) + handler + b"\0" * 12 + b"handler\0")
        stsd = _full(b"stsd", 0, struct.pack(">I", 1) + entry)
        stbl = _box(
            b"stbl",
            stsd
            + _full(b"stts", 0, struct.pack(">I", 0))
            + _full(b"stsc", 0, struct.pack(">I", 0))
            + _full(b"stsz", 0, struct.pack(">II", 0, 0))
            + _full(b"stco", 0, struct.pack(">I", 0)),
        )
        media_header = (
            _full(b"vmhd", 1, struct.pack(">HHHH", 0, 0, 0, 0))
            if handler == b"vide"
            else _full(b"smhd", 0, struct.pack(">HH", 0, 0))
        )
        dinf = _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1) + _full(b"url ", 1, b"")))
        minf = _box(b"minf", media_header + dinf + stbl)
        return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf))

    avc1 = _box(
        b"avc1",
        b"\0" * 6
        + struct.pack(">H", 1)
        + b"\0" * 16
        + struct.pack(">HH", width, height)
        + struct.pack(">II", 0x480000, 0x480000)
        + struct.pack(">I", 0)
        + struct.pack(">H", 1)
        + b"\0" * 32
        + struct.pack(">Hh", 0x18, -1),
    )
    mp4a = _box(
        b"mp4a",
        b"\0" * 6
        + struct.pack(">H", 1)
        + b"\0" * 8
        + struct.pack(">HHHH", 2, 16, 0, 0)
        + struct.pack(">I", 44100 << 16),
    )
    moov = _box(b"moov", mvhd + trak(1, b"vide", avc1, width, height) + trak(2, b"soun", mp4a))
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    return ftyp + moov + _box(b"mdat", b"\0" * mdat_bytes)


def test_raw_exif_block_from_exiftool_gives_the_same_stored_values_as_the_decoder(
    tmp_path: Path,
) -> None:
    # the route taken for formats Pillow does not decode (HEIC, RAW): same values either way
    from exif_service.engine.exiftool import get_pool
    from exif_service.engine.operations import read_exif_block
    from exif_service.engine.pixels import stored_exif_from_block

    photo = make_reference_photo(tmp_path / "block.jpg")
    block = read_exif_block(get_pool(), photo)
    decoded = inspect_image(photo, 10_000_000)
    assert block is not None and decoded is not None
    assert stored_exif_from_block(block) == decoded.stored_exif
    assert stored_exif_from_block(b"not a tiff structure") == {}
    bare = tmp_path / "bare.png"
    draw().save(bare)
    assert read_exif_block(get_pool(), bare) is None
