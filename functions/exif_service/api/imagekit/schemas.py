"""ImageKit wire format: the metadata object, the file object and the upload response.

Everything here is a pure function of what the engine read (`MediaReading`) and what the
library stores (`LibraryEntry`).

The `exif` sections hold EXIF values the way the file stores them, under ExifTool's tag names:
numbers stay numbers, rationals keep full precision, APEX values (ShutterSpeedValue,
ApertureValue) are not converted to seconds or f-numbers, byte lists such as GPSVersionID are
lists, and the directory pointers (ExifOffset, GPSInfo, InteropOffset, ThumbnailOffset) are the
offsets written in the file, counted from the start of the TIFF header.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from exif_service.api.openapi import wire_config
from exif_service.domain.library import LibraryEntry, MediaReading
from exif_service.domain.metadata import NumericTag

# ExifTool family-1 group of an EXIF directory -> section of the `exif` object
_SECTIONS = {
    "IFD0": "image",
    "IFD1": "thumbnail",
    "ExifIFD": "exif",
    "GPS": "gps",
    "InteropIFD": "interoperability",
}
# Pointers to sub-directories: ExifTool follows them without listing them as tags.
_POINTERS = {
    "IFD0": {0x8769: "ExifOffset", 0x8825: "GPSInfo"},
    "ExifIFD": {0xA005: "InteropOffset"},
}
_FORMATS = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "TIFF": "tiff",
    "HEIC": "heic",
    "HEIF": "heif",
    "AVIF": "avif",
    "BMP": "bmp",
    "SVG": "svg",
    "MP4": "mp4",
    "MOV": "mov",
    "M4V": "m4v",
    "WEBM": "webm",
    "MKV": "mkv",
    "AVI": "avi",
}
_VIDEO_CODECS = {
    "avc1": "h264",
    "avc3": "h264",
    "hvc1": "hevc",
    "hev1": "hevc",
    "vp08": "vp8",
    "vp09": "vp9",
    "av01": "av1",
    "mp4v": "mpeg4",
    "jpeg": "mjpeg",
    "apch": "prores",
    "apcn": "prores",
    "apcs": "prores",
    "apco": "prores",
    "ap4h": "prores",
}
_AUDIO_CODECS = {
    "mp4a": "aac",
    "ac-3": "ac3",
    "ec-3": "eac3",
    "opus": "opus",
    "Opus": "opus",
    "fLaC": "flac",
    "alac": "alac",
    ".mp3": "mp3",
    "lpcm": "pcm",
    "sowt": "pcm",
    "twos": "pcm",
}
_BINARY = re.compile(r"^\(Binary data \d+ bytes")
_NUMBER_LIST = re.compile(r"^-?\d+(?:\.\d+)?(?: -?\d+(?:\.\d+)?)+$")
# What most viewers assume when a picture records no resolution.
DEFAULT_DENSITY = 72


def present_metadata(reading: MediaReading) -> dict[str, Any]:
    """The metadata object of one file."""
    pixels = reading.pixels
    width, height = reading.dimensions
    body: dict[str, Any] = {
        "height": height,
        "width": width,
        "size": reading.size,
        "format": _format(reading),
        "hasColorProfile": bool(pixels and pixels.has_icc_profile)
        or any(t.group0 == "ICC_Profile" for t in reading.tags),
        "quality": pixels.quality if pixels else 0,
        "density": _density(reading),
        "hasTransparency": bool(pixels and pixels.has_transparency),
        "pHash": pixels.phash if pixels else None,
        "exif": present_exif(reading.tags, reading.stored_exif),
    }
    if _is_video(reading):
        body.update(_video_fields(reading))
    return body


def present_exif(
    tags: Iterable[NumericTag], stored: Mapping[str, Mapping[int, Any]]
) -> dict[str, dict[str, Any]]:
    """The six `exif` sections from ExifTool's tags, refined by the values as stored."""
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS.values()}
    sections["makernote"] = {}
    ordered: dict[str, list[tuple[int, str, Any]]] = {name: [] for name in _SECTIONS}
    for tag in tags:
        if tag.group0 == "MakerNotes":
            value = _json_safe(tag.value)
            if value is not None and not _is_binary(value):
                sections["makernote"][tag.name] = value
            continue
        if tag.group0 != "EXIF" or tag.group1 not in _SECTIONS or _is_binary(tag.value):
            continue
        tag_id = tag.tag_id if isinstance(tag.tag_id, int) else None
        raw = stored.get(tag.group1, {}).get(tag_id) if tag_id is not None else None
        value = _stored_value(tag.value, raw)
        if value is not None:
            ordered[tag.group1].append((tag_id if tag_id is not None else 1 << 20, tag.name, value))
    for group, pointers in _POINTERS.items():
        for tag_id, name in pointers.items():
            offset = stored.get(group, {}).get(tag_id)
            if isinstance(offset, int):
                ordered[group].append((tag_id, name, offset))
    for group, entries in ordered.items():
        section = sections[_SECTIONS[group]]
        for _, name, value in sorted(entries, key=lambda item: item[0]):
            section.setdefault(name, value)
    return sections


def present_embedded(tags: Iterable[NumericTag]) -> dict[str, Any]:
    """Every embedded tag by name (first one wins), without the server's view of its copy."""
    out: dict[str, Any] = {}
    for tag in tags:
        if tag.group0 in ("ExifTool", "Composite") or tag.group1 == "System":
            continue
        value = _json_safe(tag.value)
        if value is not None and not _is_binary(value):
            out.setdefault(tag.name, value)
    return out


def present_file(entry: LibraryEntry, url: str) -> dict[str, Any]:
    """A library file as the list and details endpoints show it."""
    return {
        "type": "file",
        "fileId": entry.file_id,
        "name": entry.name,
        "filePath": entry.file_path,
        "url": url,
        "thumbnail": url if entry.file_type == "image" else "",
        "fileType": entry.file_type,
        "mime": entry.mime,
        "size": entry.size,
        "height": entry.height,
        "width": entry.width,
        "hasAlpha": False,
        "tags": list(entry.tags) or None,
        "AITags": None,
        "customCoordinates": None,
        "customMetadata": {},
        "isPrivateFile": False,
        "isPublished": True,
        "versionInfo": _version(entry),
        "createdAt": _iso(entry.created_at),
        "updatedAt": _iso(entry.updated_at),
    }


def present_upload(
    entry: LibraryEntry, url: str, reading: MediaReading, fields: frozenset[str]
) -> dict[str, Any]:
    """The upload response; `metadata` only when `responseFields` asked for it."""
    body: dict[str, Any] = {
        "fileId": entry.file_id,
        "name": entry.name,
        "filePath": entry.file_path,
        "url": url,
        "thumbnailUrl": url if entry.file_type == "image" else "",
        "size": entry.size,
        "height": entry.height,
        "width": entry.width,
        "fileType": entry.file_type,
        "tags": list(entry.tags) or None,
        "AITags": None,
        "versionInfo": _version(entry),
    }
    if "isPrivateFile" in fields:
        body["isPrivateFile"] = False
    if "isPublished" in fields:
        body["isPublished"] = True
    if "customCoordinates" in fields:
        body["customCoordinates"] = None
    if "customMetadata" in fields:
        body["customMetadata"] = {}
    if "metadata" in fields:
        body["metadata"] = present_metadata(reading)
    if "embeddedMetadata" in fields:
        body["embeddedMetadata"] = present_embedded(reading.tags)
    if _is_video(reading):
        body.update(_video_fields(reading))
    return body


def present_file_with_distance(entry: LibraryEntry, url: str, distance: int) -> dict[str, Any]:
    return {**present_file(entry, url), "pHash": entry.phash, "pHashDistance": distance}


def _stored_value(exiftool_value: Any, stored: Any) -> Any:
    """The value as the file stores it: the decoded TIFF value where it is numeric (exact
    rationals, unconverted APEX), else ExifTool's, with byte lists as lists of numbers."""
    if _is_number(stored) or (
        isinstance(stored, list) and stored and all(_is_number(v) for v in stored)
    ):
        return _json_safe(stored)
    if isinstance(exiftool_value, str) and isinstance(stored, bytes | list):
        if _NUMBER_LIST.match(exiftool_value):
            return [_number(v) for v in exiftool_value.split()]
    if isinstance(stored, str) and _is_number(exiftool_value):
        return stored.strip()  # a text tag holding digits ("00") stays text
    return _json_safe(exiftool_value)


def _format(reading: MediaReading) -> str:
    file_type = str(reading.value("File", "FileType") or "")
    if file_type in _FORMATS:
        return _FORMATS[file_type]
    extension = str(reading.value("File", "FileTypeExtension") or file_type)
    return extension.lower()


def _density(reading: MediaReading) -> int:
    if reading.pixels is not None and reading.pixels.density:
        return reading.pixels.density
    resolution = None
    unit = None
    for tag in reading.tags:
        if tag.group0 == "EXIF" and tag.group1 == "IFD0":
            if tag.name == "XResolution" and _is_number(tag.value):
                resolution = float(tag.value)
            elif tag.name == "ResolutionUnit":
                unit = tag.value
    if resolution and resolution > 0 and unit in (2, 3):
        return round(resolution * (2.54 if unit == 3 else 1))
    return DEFAULT_DENSITY


def _is_video(reading: MediaReading) -> bool:
    return reading.mime.startswith("video/")


def _video_fields(reading: MediaReading) -> dict[str, Any]:
    duration = _first(reading.tags, "Duration", groups=("QuickTime", "Matroska", "RIFF"))
    bitrate = _first(reading.tags, "AvgBitrate", groups=("Composite", "QuickTime"))
    video = _first(reading.tags, "CompressorID", groups=("QuickTime",)) or _first(
        reading.tags, "VideoCodecID", groups=("Matroska",)
    )
    audio = _first(reading.tags, "AudioFormat", groups=("QuickTime",)) or _first(
        reading.tags, "AudioCodecID", groups=("Matroska",)
    )
    if not _is_number(bitrate) and _is_number(duration) and float(duration) > 0:
        bitrate = reading.size * 8 / float(duration)
    return {
        "duration": round(float(duration)) if _is_number(duration) else None,
        "bitRate": round(float(bitrate) / 1000) if _is_number(bitrate) else None,
        "videoCodec": _codec(video, _VIDEO_CODECS),
        "audioCodec": _codec(audio, _AUDIO_CODECS),
    }


def _codec(value: Any, names: Mapping[str, str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip()
    return names.get(key) or key.lower().removeprefix("v_").removeprefix("a_")


def _first(tags: Iterable[NumericTag], name: str, *, groups: tuple[str, ...]) -> Any:
    for tag in tags:
        if tag.group0 in groups and tag.name == name and tag.value not in (None, ""):
            return tag.value
    return None


def _version(entry: LibraryEntry) -> dict[str, str]:
    return {"id": entry.file_id, "name": "Version 1"}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_binary(value: Any) -> bool:
    return isinstance(value, str) and bool(_BINARY.match(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


def _json_safe(value: Any) -> Any:
    """Integral floats as ints (72.0 -> 72), non-finite numbers dropped, lists cleaned."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        return None
    return value


# ---------------------------------------------------------------- wire models for the OpenAPI
# document (the presenters above build the bodies; these describe them, with examples trimmed
# from real answers of this service)


class _Doc(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ImageKitError(_Doc):
    """Every error of this surface."""

    message: str
    help: str


IMAGEKIT_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "message": "Missing fileName parameter for upload.",
        "help": "The exif-service README lists the ImageKit-compatible endpoints and their "
        "parameters.",
    },
    401: {
        "message": "Invalid API key",
        "help": "The exif-service README lists the ImageKit-compatible endpoints and their "
        "parameters.",
    },
    403: {
        "message": "API access requires the Pro plan. Upgrade your plan to use API keys.",
        "help": "Upgrade your plan at /pricing for more.",
    },
    404: {
        "message": "The requested file does not exist.",
        "help": "The exif-service README lists the ImageKit-compatible endpoints and their "
        "parameters.",
    },
    429: {
        "message": "Daily limit of 300 images reached. Upgrade your plan for more.",
        "help": "Upgrade your plan at /pricing for more.",
    },
}


class ExifSections(_Doc):
    """EXIF values as the file stores them (numbers stay numbers), by directory."""

    image: dict[str, Any]
    thumbnail: dict[str, Any]
    exif: dict[str, Any]
    gps: dict[str, Any]
    interoperability: dict[str, Any]
    makernote: dict[str, Any]


class MetadataObject(_Doc):
    """A file's metadata object; videos add duration, bitRate and their codecs."""

    model_config = wire_config(
        {
            "height": 240,
            "width": 320,
            "size": 16324,
            "format": "jpg",
            "hasColorProfile": True,
            "quality": 90,
            "density": 72,
            "hasTransparency": False,
            "pHash": "91966c686e952fc9",
            "exif": {
                "image": {"Make": "Canon", "Model": "Canon EOS R5", "Orientation": 6},
                "thumbnail": {"Compression": 6, "ThumbnailLength": 1906},
                "exif": {"ExposureTime": 0.001, "FNumber": 2.8, "ISO": 100},
                "gps": {
                    "GPSLatitudeRef": "N",
                    "GPSLatitude": [48, 51, 23.76],
                    "GPSLongitudeRef": "E",
                    "GPSLongitude": [2, 21, 7.92],
                },
                "interoperability": {},
                "makernote": {},
            },
        }
    )

    height: int
    width: int
    size: int
    format: str
    has_color_profile: bool = Field(alias="hasColorProfile")
    quality: int
    density: int
    has_transparency: bool = Field(alias="hasTransparency")
    p_hash: str | None = Field(alias="pHash")
    exif: ExifSections
    duration: int | None = None
    bit_rate: int | None = Field(default=None, alias="bitRate")
    video_codec: str | None = Field(default=None, alias="videoCodec")
    audio_codec: str | None = Field(default=None, alias="audioCodec")


class VersionInfo(_Doc):
    id: str
    name: str


_FILE_ID = "f569e893eb3bc43554476c53"
_FILE_URL = f"https://api.example.com/v1/files/{_FILE_ID}/content?token=W2fS49BCrFXnwwGZ-JqItFb-"


class UploadedFile(_Doc):
    """POST /api/v1/files/upload; `responseFields` adds metadata and the other fields."""

    model_config = wire_config(
        {
            "fileId": _FILE_ID,
            "name": "photo_6fn9l9rm.jpg",
            "filePath": "/photo_6fn9l9rm.jpg",
            "url": _FILE_URL,
            "thumbnailUrl": _FILE_URL,
            "size": 16324,
            "height": 240,
            "width": 320,
            "fileType": "image",
            "tags": ["a", "b"],
            "AITags": None,
            "versionInfo": {"id": _FILE_ID, "name": "Version 1"},
        }
    )

    file_id: str = Field(alias="fileId")
    name: str
    file_path: str = Field(alias="filePath")
    url: str
    thumbnail_url: str = Field(alias="thumbnailUrl")
    size: int
    height: int | None
    width: int | None
    file_type: str = Field(alias="fileType")
    tags: list[str] | None
    ai_tags: None = Field(alias="AITags")
    version_info: VersionInfo = Field(alias="versionInfo")
    metadata: MetadataObject | None = None
    embedded_metadata: dict[str, Any] | None = Field(default=None, alias="embeddedMetadata")


_LIBRARY_FILE_EXAMPLE: JsonDict = {
    "type": "file",
    "fileId": _FILE_ID,
    "name": "photo_6fn9l9rm.jpg",
    "filePath": "/photo_6fn9l9rm.jpg",
    "url": _FILE_URL,
    "thumbnail": _FILE_URL,
    "fileType": "image",
    "mime": "image/jpeg",
    "size": 16324,
    "height": 240,
    "width": 320,
    "hasAlpha": False,
    "tags": ["a", "b"],
    "AITags": None,
    "customCoordinates": None,
    "customMetadata": {},
    "isPrivateFile": False,
    "isPublished": True,
    "versionInfo": {"id": _FILE_ID, "name": "Version 1"},
    "createdAt": "2026-11-28T23:53:47.737Z",
    "updatedAt": "2026-11-28T23:53:47.737Z",
}


class LibraryFile(_Doc):
    """A file of the caller's media library."""

    model_config = wire_config(_LIBRARY_FILE_EXAMPLE)

    type: str
    file_id: str = Field(alias="fileId")
    name: str
    file_path: str = Field(alias="filePath")
    url: str
    thumbnail: str
    file_type: str = Field(alias="fileType")
    mime: str
    size: int
    height: int | None
    width: int | None
    has_alpha: bool = Field(alias="hasAlpha")
    tags: list[str] | None
    ai_tags: None = Field(alias="AITags")
    custom_coordinates: None = Field(alias="customCoordinates")
    custom_metadata: dict[str, Any] = Field(alias="customMetadata")
    is_private_file: bool = Field(alias="isPrivateFile")
    is_published: bool = Field(alias="isPublished")
    version_info: VersionInfo = Field(alias="versionInfo")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class SimilarFile(LibraryFile):
    model_config = wire_config(
        {**_LIBRARY_FILE_EXAMPLE, "pHash": "91966c686e952fc9", "pHashDistance": 3}
    )

    p_hash: str = Field(alias="pHash")
    p_hash_distance: int = Field(alias="pHashDistance")


class PhashDistance(_Doc):
    """Two pHashes (16 hex digits) and their Hamming distance."""

    model_config = wire_config({"a": "91966c686e952fc9", "b": "f0f0f0f0f0f0f0f0", "distance": 34})

    a: str
    b: str
    distance: int
