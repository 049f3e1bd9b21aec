"""Stripping: every metadata block goes, pixels stay bit-identical, ICC and orientation kept."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.support.media import SRGB, draw, exiftool, make_photo, make_png

from exif_service.domain.errors import UnsupportedFile
from exif_service.domain.privacy import Preset, StripPlan
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import strip_metadata
from exif_service.settings import get_settings

# What may remain after a strip: the container's own facts, and (safe mode) colour + rotation.
_NEUTRAL_GROUPS = {
    "ExifTool",
    "System",
    "File",
    "Composite",
    "JFIF",
    "PNG",
    "RIFF",
    "PDF",
    "QuickTime",
}
_SECRET = "Jane Doe"


@pytest.fixture(scope="module")
def pool() -> Iterator[ExifToolPool]:
    settings = get_settings()
    pool = ExifToolPool(settings.perl_path, settings.exiftool_path, size=1, timeout=30.0)
    pool.start(settings.exiftool_min_version)
    yield pool
    pool.close()


def _tags(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(exiftool("-j", "-a", "-G0:1", "-n", str(path)))[0]
    return record


def _groups(path: Path) -> set[str]:
    return {key.split(":", 1)[0] for key in _tags(path) if ":" in key}


def _pixels(path: Path, fmt: str) -> bytes:
    with Image.open(path, formats=[fmt]) as img:
        return img.convert("RGBA").tobytes()


def _with_trailer(path: Path) -> Path:
    path.write_bytes(path.read_bytes() + b"SECRET-TRAILER" * 20)
    return path


def test_safe_strip_of_a_rich_jpeg_removes_every_metadata_block(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = _with_trailer(make_photo(tmp_path / "in.jpg", **{"Photoshop:CopyrightFlag": "True"}))
    before = _groups(src)
    assert {"EXIF", "IPTC", "XMP", "Photoshop", "ICC_Profile"} <= before
    dst = tmp_path / "out.jpg"
    strip_metadata(pool, src, dst)
    tags = _tags(dst)
    groups = _groups(dst)
    assert not {"IPTC", "XMP", "Photoshop", "MakerNotes", "Trailer"} & groups
    assert not any(k.startswith("EXIF:GPS") for k in tags)
    assert not any("Thumbnail" in k or "Comment" in k for k in tags)
    exif = {k for k in tags if k.startswith("EXIF:")}
    assert exif <= {"EXIF:IFD0:Orientation", "EXIF:IFD0:YCbCrPositioning"}
    data = dst.read_bytes()
    assert _SECRET.encode() not in data
    assert b"SECRET-TRAILER" not in data
    assert b"Canon" not in data


def test_safe_strip_keeps_icc_profile_and_orientation(pool: ExifToolPool, tmp_path: Path) -> None:
    src = make_photo(tmp_path / "in.jpg")
    dst = tmp_path / "out.jpg"
    strip_metadata(pool, src, dst)
    tags = _tags(dst)
    assert tags["EXIF:IFD0:Orientation"] == 6
    with Image.open(dst, formats=["JPEG"]) as img:
        assert img.info.get("icc_profile") == SRGB
    assert "Validate                        : OK" in exiftool("-validate", "-s", str(dst))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_jpeg_orientation_survives_a_safe_strip(
    pool: ExifToolPool, tmp_path: Path, orientation: int
) -> None:
    src = make_photo(tmp_path / "in.jpg", **{"EXIF:Orientation#": str(orientation)})
    dst = tmp_path / "out.jpg"
    strip_metadata(pool, src, dst)
    assert _tags(dst).get("EXIF:IFD0:Orientation", 1) == orientation
    with Image.open(dst, formats=["JPEG"]) as img:
        assert img.getexif().get(0x0112, 1) == orientation


def test_keep_none_removes_icc_profile_and_orientation_too(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = make_photo(tmp_path / "in.jpg")
    dst = tmp_path / "out.jpg"
    strip_metadata(pool, src, dst, StripPlan(Preset.ALL))
    groups = _groups(dst)
    assert "ICC_Profile" not in groups
    assert "EXIF" not in groups
    with Image.open(dst, formats=["JPEG"]) as img:
        assert "icc_profile" not in img.info


@pytest.mark.parametrize("keep", [StripPlan(), StripPlan(Preset.ALL)], ids=["safe", "all"])
def test_jpeg_pixels_are_identical_after_strip(
    pool: ExifToolPool, tmp_path: Path, keep: StripPlan
) -> None:
    src = make_photo(tmp_path / "in.jpg")
    dst = tmp_path / "out.jpg"
    strip_metadata(pool, src, dst, keep)
    assert _pixels(dst, "JPEG") == _pixels(src, "JPEG")


def test_png_strip_removes_text_and_xmp_keeps_icc_and_pixels(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = make_png(tmp_path / "in.png", alpha=True)
    exiftool(
        "-q", "-overwrite_original", f"-EXIF:Artist={_SECRET}", "-EXIF:Orientation#=3", str(src)
    )
    assert {"XMP", "EXIF"} <= _groups(src)
    dst = tmp_path / "out.png"
    strip_metadata(pool, src, dst)
    tags = _tags(dst)
    assert "XMP" not in _groups(dst)
    assert not any("Comment" in k or "Artist" in k for k in tags)
    assert tags["EXIF:IFD0:Orientation"] == 3
    assert _SECRET.encode() not in dst.read_bytes()
    assert _pixels(dst, "PNG") == _pixels(src, "PNG")
    with Image.open(dst, formats=["PNG"]) as img:
        assert img.info.get("icc_profile") == SRGB


def test_tiff_strip_removes_metadata_keeps_orientation_and_pixels(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = tmp_path / "in.tif"
    draw().save(src, "TIFF", icc_profile=SRGB)
    exiftool(
        "-q",
        "-overwrite_original",
        f"-EXIF:Artist={_SECRET}",
        "-EXIF:Orientation#=8",
        "-EXIF:GPSLatitude=10",
        "-XMP-dc:Title=t",
        "-IPTC:Keywords=k",
        str(src),
    )
    dst = tmp_path / "out.tif"
    strip_metadata(pool, src, dst)
    tags = _tags(dst)
    assert not {"XMP", "IPTC"} & _groups(dst)
    assert not any("Artist" in k or "GPS" in k for k in tags)
    assert tags["EXIF:IFD0:Orientation"] == 8
    assert _pixels(dst, "TIFF") == _pixels(src, "TIFF")


def test_webp_strip_removes_exif_and_xmp_keeps_icc_and_pixels(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = tmp_path / "in.webp"
    draw().save(src, "WEBP", lossless=True, icc_profile=SRGB)
    exiftool(
        "-q",
        "-overwrite_original",
        f"-EXIF:Artist={_SECRET}",
        "-EXIF:Orientation#=3",
        "-XMP-dc:Title=t",
        str(src),
    )
    assert {"EXIF", "XMP"} <= _groups(src)
    dst = tmp_path / "out.webp"
    strip_metadata(pool, src, dst)
    assert not {"XMP"} & _groups(dst)
    assert _tags(dst)["EXIF:IFD0:Orientation"] == 3
    assert _SECRET.encode() not in dst.read_bytes()
    assert _pixels(dst, "WEBP") == _pixels(src, "WEBP")
    with Image.open(dst, formats=["WEBP"]) as img:
        assert img.info.get("icc_profile") == SRGB


def test_avif_heif_container_strip_removes_exif_and_xmp(pool: ExifToolPool, tmp_path: Path) -> None:
    # no HEIC encoder here; AVIF is the same ISO-BMFF/HEIF container ExifTool edits the same way
    src = tmp_path / "in.avif"
    draw().save(src, "AVIF")
    exiftool("-q", "-overwrite_original", f"-EXIF:Artist={_SECRET}", "-XMP-dc:Title=t", str(src))
    assert _SECRET in json.dumps(_tags(src))
    dst = tmp_path / "out.avif"
    strip_metadata(pool, src, dst)
    assert _SECRET not in json.dumps(_tags(dst))
    assert "XMP" not in _groups(dst)
    assert _pixels(dst, "AVIF") == _pixels(src, "AVIF")


def _minimal_mp4(path: Path) -> Path:
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = box(
        b"mvhd",
        b"\0" * 4
        + struct.pack(">IIII", 0, 0, 1000, 0)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\0" * 10
        + matrix
        + b"\0" * 24
        + struct.pack(">I", 2),
    )
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    path.write_bytes(ftyp + box(b"moov", mvhd) + box(b"mdat", b"\0" * 16))
    return path


def test_mp4_strip_removes_user_data_keys_and_xmp(pool: ExifToolPool, tmp_path: Path) -> None:
    src = _minimal_mp4(tmp_path / "in.mp4")
    exiftool(
        "-q",
        "-overwrite_original",
        f"-UserData:Artist={_SECRET}",
        f"-Keys:Author={_SECRET}",
        "-XMP-dc:Title=t",
        str(src),
    )
    assert _SECRET in json.dumps(_tags(src))
    dst = tmp_path / "out.mp4"
    strip_metadata(pool, src, dst)
    assert _SECRET not in json.dumps(_tags(dst))
    assert _SECRET.encode() not in dst.read_bytes()
    assert _tags(dst)["File:MIMEType"] == "video/mp4"


def test_pdf_strip_hides_document_info_and_xmp(pool: ExifToolPool, tmp_path: Path) -> None:
    src = tmp_path / "in.pdf"
    draw().save(src, "PDF", author=_SECRET, title="secret title")
    dst = tmp_path / "out.pdf"
    strip_metadata(pool, src, dst)
    assert _SECRET not in json.dumps(_tags(dst))


def test_pdf_strip_leaves_no_recoverable_author_in_the_bytes(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src = tmp_path / "in.pdf"
    draw().save(src, "PDF", author=_SECRET)
    dst = tmp_path / "out.pdf"
    strip_metadata(pool, src, dst)
    assert _SECRET.encode("utf-16-be") not in dst.read_bytes()


def test_format_exiftool_cannot_write_is_unsupported(pool: ExifToolPool, tmp_path: Path) -> None:
    src = tmp_path / "in.bmp"
    draw().save(src, "BMP")
    with pytest.raises(UnsupportedFile, match="cannot be written"):
        strip_metadata(pool, src, tmp_path / "out.bmp")
    assert not (tmp_path / "out.bmp").exists()


def test_strip_never_modifies_the_input(pool: ExifToolPool, tmp_path: Path) -> None:
    src = make_photo(tmp_path / "in.jpg")
    original = src.read_bytes()
    strip_metadata(pool, src, tmp_path / "out.jpg")
    assert src.read_bytes() == original


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_every_png_orientation_survives_a_safe_strip_with_valid_chunks(
    pool: ExifToolPool, tmp_path: Path, orientation: int
) -> None:
    src = make_png(tmp_path / "in.png")
    exiftool(
        "-q",
        "-overwrite_original",
        f"-EXIF:Orientation#={orientation}",
        f"-EXIF:Artist={_SECRET}",
        str(src),
    )
    dst = tmp_path / "out.png"
    strip_metadata(pool, src, dst)
    assert _tags(dst).get("EXIF:IFD0:Orientation", 1) == orientation
    assert _SECRET.encode() not in dst.read_bytes()
    assert "Validate                        : OK" in exiftool("-validate", "-s", str(dst))
    assert _pixels(dst, "PNG") == _pixels(src, "PNG")


def test_png_with_exif_in_a_text_chunk_still_keeps_its_orientation(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    # ImageMagick keeps EXIF as hex in a "Raw profile type exif" text chunk; only ExifTool
    # reads that, so the strip must ask it
    src = tmp_path / "in.png"
    tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
    tiff += b"\x00\x00\x00\x00"
    blob = b"Exif\x00\x00" + tiff
    profile = f"\nexif\n{len(blob):8d}\n{blob.hex()}\n"
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", profile)
    draw().save(src, "PNG", pnginfo=info)
    assert (
        json.loads(exiftool("-j", "-n", "-EXIF:Orientation", str(src)))[0].get("Orientation") == 6
    )
    dst = tmp_path / "out.png"
    strip_metadata(pool, src, dst)
    assert _tags(dst).get("EXIF:IFD0:Orientation") == 6
