"""The ImageKit presenter as a pure function of engine output (no ExifTool, no Pillow)."""

from __future__ import annotations

from typing import Any

from exif_service.api.imagekit.errors import render
from exif_service.api.imagekit.schemas import present_embedded, present_exif, present_metadata
from exif_service.api.ratelimit import rate_limit_headers
from exif_service.domain.errors import EngineFailure, QuotaExceeded
from exif_service.domain.library import MediaReading
from exif_service.domain.metadata import NumericTag
from exif_service.domain.ratelimit import Allowance


def tag(group0: str, group1: str, tag_id: int | str | None, name: str, value: Any) -> NumericTag:
    return NumericTag(group0, group1, tag_id, name, value)


def test_stored_rationals_and_apex_values_replace_exiftools_rounded_ones() -> None:
    tags = [
        tag("EXIF", "ExifIFD", 0x9201, "ShutterSpeedValue", 0.00602),
        tag("EXIF", "ExifIFD", 0xA20E, "FocalPlaneXResolution", 4438.356164),
        tag("EXIF", "ExifIFD", 0x9000, "ExifVersion", "0221"),
        tag("EXIF", "GPS", 0x0000, "GPSVersionID", "2 2 0 0"),
        tag("EXIF", "GPS", 0x0002, "GPSLatitude", 48.8566),
    ]
    stored = {
        "ExifIFD": {0x9201: 7.375, 0xA20E: 4438.356164383562, 0x9000: b"0221"},
        "GPS": {0x0000: b"\x02\x02\x00\x00", 0x0002: [48.0, 51.0, 23.76]},
    }
    exif = present_exif(tags, stored)
    assert exif["exif"] == {
        "ShutterSpeedValue": 7.375,
        "FocalPlaneXResolution": 4438.356164383562,
        "ExifVersion": "0221",
    }
    assert exif["gps"] == {"GPSVersionID": [2, 2, 0, 0], "GPSLatitude": [48, 51, 23.76]}


def test_directory_pointers_come_from_the_stored_directories() -> None:
    stored = {"IFD0": {0x8769: 214, 0x8825: 978}, "ExifIFD": {0xA005: 948}}
    exif = present_exif([], stored)
    assert exif["image"] == {"ExifOffset": 214, "GPSInfo": 978}
    assert exif["exif"] == {"InteropOffset": 948}
    assert set(exif) == {"image", "thumbnail", "exif", "gps", "interoperability", "makernote"}


def test_maker_notes_are_kept_and_binary_blobs_dropped() -> None:
    tags = [
        tag("MakerNotes", "Canon", 0x0006, "CanonImageType", "Canon EOS 40D"),
        tag("MakerNotes", "Canon", 0x0001, "CanonCameraSettings", "(Binary data 92 bytes)"),
        tag("EXIF", "IFD1", 0x0201, "ThumbnailImage", "(Binary data 1378 bytes, use -b option)"),
        tag("XMP", "XMP-tiff", "Make", "Make", "ignored: not an EXIF directory"),
    ]
    exif = present_exif(tags, {})
    assert exif["makernote"] == {"CanonImageType": "Canon EOS 40D"}
    assert exif["thumbnail"] == {} and exif["image"] == {}


def test_values_json_cannot_carry_are_dropped() -> None:
    tags = [tag("EXIF", "ExifIFD", 0x829A, "ExposureTime", 0.01)]
    exif = present_exif(tags, {"ExifIFD": {0x829A: float("nan")}})
    assert exif["exif"] == {"ExposureTime": 0.01}


def test_video_adds_duration_bitrate_and_codecs() -> None:
    tags = [
        tag("File", "File", "FileType", "FileType", "MP4"),
        tag("File", "File", "MIMEType", "MIMEType", "video/mp4"),
        tag("QuickTime", "QuickTime", "Duration", "Duration", 27.4),
        tag("QuickTime", "Track1", "ImageWidth", "ImageWidth", 1920),
        tag("QuickTime", "Track1", "ImageHeight", "ImageHeight", 1080),
        tag("QuickTime", "Track1", "CompressorID", "CompressorID", "avc1"),
        tag("QuickTime", "Track2", "AudioFormat", "AudioFormat", "mp4a"),
        tag("Composite", "Composite", "AvgBitrate", "AvgBitrate", 2_207_000),
    ]
    meta = present_metadata(MediaReading(tags=tuple(tags), pixels=None, size=7_000_000))
    assert meta["format"] == "mp4"
    assert (meta["width"], meta["height"]) == (1920, 1080)
    assert meta["duration"] == 27
    assert meta["bitRate"] == 2207
    assert meta["videoCodec"] == "h264"
    assert meta["audioCodec"] == "aac"
    assert meta["pHash"] is None and meta["quality"] == 0


def _imagekit_headers(allowance: Allowance, status: int, **options: Any) -> dict[str, str]:
    """The rate-limit headers the middleware adds on this surface (times in milliseconds)."""
    pairs = rate_limit_headers(allowance, status, in_ms=True, **options)
    return {name.decode().title(): value.decode() for name, value in pairs}


def test_429_carries_rate_limit_headers_and_500_hides_the_cause() -> None:
    limited = render(429, QuotaExceeded("Daily limit reached.", 300), "rid")
    assert limited.status_code == 429
    headers = _imagekit_headers(Allowance(limit=300, used=300), 429)
    assert headers["X-Ratelimit-Limit"] == "300"
    assert headers["X-Ratelimit-Remaining"] == "0"
    failed = render(500, EngineFailure("exiftool died on /tmp/exs-1/input.jpg"), "rid-42")
    assert b"/tmp" not in failed.body and b"rid-42" in failed.body


def test_rate_limit_reset_counts_down_to_midnight_utc() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 23, 59, 0, tzinfo=UTC)
    headers = _imagekit_headers(Allowance(limit=5, used=5), 429, now=now)
    assert headers["X-Ratelimit-Reset"] == str(60_000)


def test_embedded_metadata_leaves_out_the_servers_file_facts() -> None:
    tags = [
        tag("File", "System", "Directory", "Directory", "/tmp/exs-abc"),
        tag("File", "System", "FileName", "FileName", "input.jpg"),
        tag("ExifTool", "ExifTool", "ExifToolVersion", "ExifToolVersion", 13.59),
        tag("File", "File", "ImageWidth", "ImageWidth", 100),
        tag("EXIF", "IFD0", 0x010F, "Make", "Canon"),
        tag("XMP", "XMP-dc", "Title", "Title", "Paris"),
        tag("EXIF", "IFD1", 0x0201, "ThumbnailImage", "(Binary data 10 bytes, use -b option)"),
    ]
    assert present_embedded(tags) == {"ImageWidth": 100, "Make": "Canon", "Title": "Paris"}
