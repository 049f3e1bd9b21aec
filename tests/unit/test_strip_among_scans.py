"""Metadata put among a JPEG's scans: ExifTool neither shows it nor strips it (it copies the
image data whole), so the verification finds it and no "clean" file carries it out."""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from tests.support.media import draw, exiftool, jpeg_with_segments

from exif_service.domain.errors import VerificationFailed
from exif_service.domain.privacy import StripPlan
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.imagedata import metadata_among_scans, same_image_data
from exif_service.engine.operations import strip_metadata
from exif_service.engine.prescan import check_file
from exif_service.settings import get_settings

SECRET = b"Jane Doe, 12 Rue de la Paix"
PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + SECRET + b"</dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.fixture(scope="module")
def pool() -> Iterator[ExifToolPool]:
    settings = get_settings()
    pool = ExifToolPool(settings.perl_path, settings.exiftool_path, size=1, timeout=30.0)
    pool.start(settings.exiftool_min_version)
    yield pool
    pool.close()


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def progressive_with(*inserted: bytes) -> bytes:
    """A progressive JPEG with `inserted` between its first and second scans."""
    out = io.BytesIO()
    draw((320, 240)).save(out, "JPEG", quality=90, progressive=True)
    image = out.getvalue()
    second = image.index(b"\xff\xda", image.index(b"\xff\xda") + 2)
    return image[:second] + b"".join(inserted) + image[second:]


def test_exiftool_copies_an_xmp_segment_among_the_scans_into_its_stripped_file(
    tmp_path: Path,
) -> None:
    # the premise: the pinned ExifTool's strip keeps it, and its reads do not show it
    src, out = tmp_path / "src.jpg", tmp_path / "out.jpg"
    src.write_bytes(progressive_with(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + PACKET)))
    exiftool("-all=", "-o", str(out), str(src))
    assert SECRET in out.read_bytes()
    assert "Jane Doe" not in exiftool("-a", "-G1", str(out))


@pytest.mark.parametrize(
    ("inserted", "named"),
    [
        (segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + PACKET), "APP1"),
        (segment(0xFE, SECRET), "COM"),
        (segment(0xED, b"Photoshop 3.0\0" + SECRET) + segment(0xE5, SECRET), "APP13, APP5"),
    ],
)
def test_a_strip_of_a_jpeg_with_metadata_among_its_scans_is_refused_not_returned(
    pool: ExifToolPool, tmp_path: Path, inserted: bytes, named: str
) -> None:
    src, out = tmp_path / "src.jpg", tmp_path / "clean.jpg"
    src.write_bytes(progressive_with(inserted))
    with pytest.raises(VerificationFailed) as caught:
        strip_metadata(pool, src, out, StripPlan())
    assert caught.value.message == (
        "The processed JPEG file still holds metadata among its image data "
        f"({named} after the first scan); it was not returned."
    )


def test_a_segment_after_the_last_scan_before_the_end_of_image_is_found(tmp_path: Path) -> None:
    image = jpeg_with_segments()
    path = tmp_path / "late.jpg"
    path.write_bytes(image[:-2] + segment(0xEC, SECRET) + b"\xff\xd9")
    assert metadata_among_scans(path) == ["APP12"]


def test_the_tables_and_scans_of_a_progressive_jpeg_are_not_metadata(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src, out = tmp_path / "src.jpg", tmp_path / "clean.jpg"
    src.write_bytes(progressive_with(segment(0xDD, b"\0\0")))  # a restart interval between scans
    assert metadata_among_scans(src) == []
    strip_metadata(pool, src, out, StripPlan())
    assert same_image_data(src, out, "JPEG") is True


def test_segments_before_the_first_scan_are_the_strips_business_not_this_checks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ordinary.jpg"
    path.write_bytes(jpeg_with_segments(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + PACKET)))
    assert metadata_among_scans(path) == []


def test_image_data_cut_short_or_changed_is_not_the_same(tmp_path: Path) -> None:
    out = io.BytesIO()
    noise = Image.frombytes("RGB", (1200, 1000), random.Random(7).randbytes(1200 * 1000 * 3))
    noise.save(out, "JPEG", quality=95)  # over a megabyte: compared in parts
    image = out.getvalue()
    assert len(image) > 1 << 20
    src, short, changed = tmp_path / "src.jpg", tmp_path / "short.jpg", tmp_path / "changed.jpg"
    src.write_bytes(image)
    short.write_bytes(image[: len(image) // 2] + b"\xff\xd9")
    flipped = bytearray(image)
    flipped[-100] ^= 0x01
    changed.write_bytes(bytes(flipped))
    assert same_image_data(src, src, "JPEG") is True
    assert same_image_data(src, short, "JPEG") is False
    assert same_image_data(src, changed, "JPEG") is False


def test_a_strip_after_the_pre_scan_is_refused_all_the_same(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    # the pre-scan walked the same image data and saw the segment: its answer says so
    src, out = tmp_path / "src.jpg", tmp_path / "clean.jpg"
    src.write_bytes(progressive_with(segment(0xFE, SECRET)))
    check_file(src)
    with pytest.raises(VerificationFailed):
        strip_metadata(pool, src, out, StripPlan())


def test_a_file_changed_after_its_pre_scan_is_walked_again(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    src, out = tmp_path / "src.jpg", tmp_path / "clean.jpg"
    src.write_bytes(progressive_with())
    check_file(src)  # clean when it was looked at
    strip_metadata(pool, src, out, StripPlan())
    src.write_bytes(progressive_with(segment(0xFE, SECRET)))  # then another file in its place
    with pytest.raises(VerificationFailed):
        strip_metadata(pool, src, out, StripPlan())
