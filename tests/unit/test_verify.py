"""The verifier's judgement over tags as ExifTool reads them back, and the pixel-identity check."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from tests.support.media import SRGB, draw

from exif_service.domain.errors import VerificationFailed
from exif_service.domain.lists import ListOp
from exif_service.engine.imagedata import same_image_data
from exif_service.engine.verify import (
    HEIF_ICC_NOTE,
    Expected,
    ReadTag,
    check_decodes,
    check_strip,
    missing_writes,
    replaced_values,
    stale_places,
    stale_positions,
)


def tag(key: str, value: object = "x") -> ReadTag:
    group0, group1, name = key.split(":")
    return ReadTag(group0, group1, name, value)


_NEUTRAL = [tag("File:System:FileName", "out.jpg"), tag("ExifTool:ExifTool:ExifToolVersion", 13.59)]


def _leftovers(tags: list[ReadTag], file_type: str, *, safe: bool) -> list[str]:
    check = check_strip(tags, file_type, keep_icc=safe, keep_orientation=safe)
    return [t.place for t in check.leftovers]


def test_safe_strip_may_keep_the_colour_profile_and_orientation_only() -> None:
    tags = [
        *_NEUTRAL,
        tag("ICC_Profile:ICC_Profile:ProfileDescription", "sRGB"),
        tag("EXIF:IFD0:Orientation", 6),
        tag("EXIF:IFD0:YCbCrPositioning", 1),
        tag("EXIF:IFD0:Artist", "Jane Doe"),
        tag("XMP:XMP-dc:Title", "Paris"),
        tag("EXIF:GPS:GPSLatitude", 48.8),
        tag("File:File:Comment", "made by Jane"),
    ]
    assert _leftovers(tags, "JPEG", safe=True) == [
        "IFD0:Artist",
        "XMP-dc:Title",
        "GPS:GPSLatitude",
        "File:Comment",
    ]
    assert _leftovers(tags, "JPEG", safe=False)[:2] == [
        "ICC_Profile:ProfileDescription",
        "IFD0:Orientation",
    ]


def test_heif_profile_in_the_colr_box_is_reported_as_kept_not_as_removed() -> None:
    tags = [*_NEUTRAL, tag("ICC_Profile:ICC_Profile:ProfileDescription", "sRGB")]
    for file_type in ("HEIC", "AVIF"):
        check = check_strip(tags, file_type, keep_icc=False, keep_orientation=False)
        assert check.leftovers == ()
        assert check.kept == (HEIF_ICC_NOTE,)
    assert check_strip(tags, "PNG", keep_icc=False, keep_orientation=False).leftovers


def test_movie_structure_stays_but_its_metadata_and_capture_times_do_not() -> None:
    tags = [
        tag("QuickTime:QuickTime:MajorBrand", "mp42"),
        tag("QuickTime:Track1:ImageWidth", 64),
        tag("QuickTime:Track1:CompressorName", "Lavc libx264"),
        tag("QuickTime:QuickTime:CreateDate", "0000:00:00 00:00:00"),
        tag("QuickTime:Track1:MediaCreateDate", "2024:03:15 10:30:00"),
        tag("QuickTime:ItemList:Title", "Holiday"),
        tag("QuickTime:Keys:GPSCoordinates", "48.8 2.3"),
        tag("QuickTime:UserData:Make", "Apple"),
    ]
    assert _leftovers(tags, "MP4", safe=True) == [
        "Track1:MediaCreateDate",
        "ItemList:Title",
        "Keys:GPSCoordinates",
        "UserData:Make",
    ]


def test_dng_keeps_what_raw_converters_need_but_not_the_serial_number() -> None:
    tags = [
        tag("EXIF:IFD0:DNGVersion", "1.4.0.0"),
        tag("EXIF:IFD0:UniqueCameraModel", "Test Cam"),
        tag("EXIF:IFD0:ColorMatrix1", "1 0 0 0 1 0 0 0 1"),
        tag("EXIF:IFD0:StripOffsets", 310),
        tag("EXIF:IFD0:CameraSerialNumber", "SN999"),
        tag("EXIF:IFD0:Artist", "Jane Doe"),
    ]
    assert _leftovers(tags, "DNG", safe=False) == ["IFD0:CameraSerialNumber", "IFD0:Artist"]
    # the same colour tags in a JPEG's EXIF are not structure
    assert "IFD0:DNGVersion" in _leftovers(tags, "JPEG", safe=False)


def test_png_text_goes_and_the_profile_name_stays_only_with_the_profile() -> None:
    tags = [
        tag("PNG:PNG:ImageWidth", 320),
        tag("PNG:PNG:Comment", "hello"),
        tag("PNG:PNG:ProfileName", "icc"),
    ]
    assert _leftovers(tags, "PNG", safe=True) == ["PNG:Comment"]
    assert _leftovers(tags, "PNG", safe=False) == ["PNG:Comment", "PNG:ProfileName"]


def test_a_write_reads_back_in_exiftools_own_spelling() -> None:
    tags = [
        tag("EXIF:ExifIFD:DateTimeOriginal", "2024:03:15 00:00:00"),
        tag("EXIF:IFD0:ResolutionUnit", "inches"),
        tag("EXIF:ExifIFD:ExposureTime", "1/1000"),
        tag("EXIF:GPS:GPSLatitude", 33.8688),
        tag("IPTC:IPTC:Keywords", ["one", "two", "older"]),
        tag("XMP:XMP-dc:Title", "Sunset"),
    ]
    expected = [
        Expected("EXIF", "DateTimeOriginal", ("2024:03:15",)),
        Expected("EXIF", "ResolutionUnit", ("inch",)),
        Expected("EXIF", "ExposureTime", ("0.001",)),
        Expected("GPS", "GPSLatitude", ("-33.8688",), numeric=True),  # EXIF keeps it unsigned
        Expected("IPTC", "Keywords", ("one", "two")),
        Expected("XMP-dc", "Title", ("Sunset",)),
    ]
    assert missing_writes(tags, expected) == []
    wrong = [Expected("XMP-dc", "Title", ("Sunrise",)), Expected("XMP-dc", "Creator", ("Jane",))]
    assert missing_writes(tags, wrong) == ["XMP-dc:Title", "XMP-dc:Creator"]
    assert missing_writes(tags, [Expected("XMP-dc", "Title", ())]) == ["XMP-dc:Title"]


def test_a_movie_title_left_in_another_atom_is_stale() -> None:
    before = [
        tag("QuickTime:ItemList:Title", "Old"),
        tag("QuickTime:Keys:Title", "Old"),
        tag("XMP:XMP-dc:Title", "Old"),
        tag("PDF:PDF:Subject", "A description"),
    ]
    after = [
        tag("QuickTime:ItemList:Title", "Old"),
        tag("QuickTime:Keys:Title", "New"),
        tag("XMP:XMP-dc:Title", "New"),
        tag("PDF:PDF:Subject", "A description"),
    ]
    stale = stale_places(before, after, [Expected("XMP-dc", "Title", ("New",))])
    assert [t.place for t in stale] == ["ItemList:Title"]
    # a PDF's Subject is its description, not keywords
    keywords = [Expected("XMP-dc", "Subject", ("new",))]
    assert stale_places(before, after, keywords) == []


def test_an_added_list_keeps_its_old_items_and_a_removed_item_must_be_gone() -> None:
    before = [
        tag("IPTC:IPTC:Keywords", ["sunset", "mountains"]),
        tag("XMP:XMP-dc:Subject", ["sunset", "mountains"]),
        tag("XMP:XMP-dc:Creator", ["Jane Doe"]),
        tag("EXIF:IFD0:Artist", "Jane Doe"),
    ]
    after = [
        tag("IPTC:IPTC:Keywords", ["sunset", "beach"]),
        tag("XMP:XMP-dc:Subject", ["sunset", "mountains", "beach"]),
        tag("XMP:XMP-dc:Creator", ["Jane Doe", "John Roe"]),
        tag("EXIF:IFD0:Artist", "John Roe"),
    ]
    expected = [
        Expected("IPTC", "Keywords", ("beach", "sunset"), op=ListOp.ADD),
        Expected("IPTC", "Keywords", ("mountains",), op=ListOp.REMOVE),
        Expected("XMP-dc", "Creator", ("John Roe",), op=ListOp.ADD),
        Expected("EXIF", "Artist", ("John Roe",)),
    ]
    assert missing_writes(after, expected) == []
    # kept creators are not the artist's old value left behind; the removed keyword is
    assert [t.place for t in stale_places(before, after, expected)] == ["XMP-dc:Subject"]
    assert replaced_values(before, expected) == ["mountains"]
    absent = [Expected("IPTC", "Keywords", ("lake",), op=ListOp.ADD)]
    still = [Expected("XMP-dc", "Subject", ("mountains",), op=ListOp.REMOVE)]
    assert missing_writes(after, absent + still) == ["IPTC:Keywords", "XMP-dc:Subject"]


def test_no_coordinate_may_keep_the_old_position() -> None:
    tags = [
        tag("EXIF:GPS:GPSLatitude", 33.8688),
        tag("EXIF:GPS:GPSLatitudeRef", "S"),
        tag("XMP:XMP-exif:GPSLongitude", 151.2093),
        tag("QuickTime:Keys:GPSCoordinates", "-33.8688 151.2093 0"),
        tag("QuickTime:UserData:GPSCoordinates", "48.8566 2.3522"),
        tag("XMP:XMP-iptcExt:LocationCreatedGPSLatitude", 48.8566),
    ]
    stale = stale_positions(tags, -33.8688, 151.2093)
    assert [t.place for t in stale] == [
        "UserData:GPSCoordinates",
        "XMP-iptcExt:LocationCreatedGPSLatitude",
    ]


def _jpeg_bytes(tmp_path: Path, name: str, seed: int = 0) -> Path:
    path = tmp_path / name
    draw(seed=seed).save(path, "JPEG", quality=85, icc_profile=SRGB, comment=b"Jane Doe")
    return path


def test_identical_pixels_are_recognised_across_dropped_segments_and_trailers(
    tmp_path: Path,
) -> None:
    src = _jpeg_bytes(tmp_path, "src.jpg")
    src.write_bytes(src.read_bytes() + b"TRAILER" * 100)
    with Image.open(src) as img:
        img.load()
    # the same scan behind different header segments: what a strip produces
    data = src.read_bytes()
    sos = data.index(b"\xff\xda")
    clean = tmp_path / "clean.jpg"
    eoi = data.rindex(b"\xff\xd9") + 2
    clean.write_bytes(b"\xff\xd8" + data[data.index(b"\xff\xdb") : sos] + data[sos:eoi])
    assert same_image_data(src, clean, "JPEG") is True
    other = _jpeg_bytes(tmp_path, "other.jpg", seed=5)
    assert same_image_data(src, other, "JPEG") is False
    assert same_image_data(src, clean, "GIF") is None


def test_png_pixels_compare_by_their_chunks_not_the_text(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    draw().save(a, "PNG", pnginfo=info)
    draw().save(b, "PNG")
    assert same_image_data(a, b, "PNG") is True
    draw(seed=3).save(b, "PNG")
    assert same_image_data(a, b, "PNG") is False


def test_a_truncated_output_fails_the_decode_check(tmp_path: Path) -> None:
    src = _jpeg_bytes(tmp_path, "src.jpg")
    broken = tmp_path / "broken.png"
    draw().save(broken, "PNG")
    broken.write_bytes(broken.read_bytes()[:-200])
    mime = ReadTag("File", "File", "MIMEType", "image/png")
    with pytest.raises(VerificationFailed):
        check_decodes(broken, "PNG", "image/png", [mime])
    with pytest.raises(VerificationFailed):
        check_decodes(src, "JPEG", "image/jpeg", [ReadTag("File", "File", "MIMEType", "image/png")])
