"""Read, strip and write metadata: the operations every surface is built from."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image

from exif_service.domain.errors import BadRequest, EngineFailure, UnsupportedFile
from exif_service.domain.report import MetadataReport, build_report
from exif_service.domain.tags import TagName, check_value
from exif_service.engine.exiftool import ExifToolPool, ExifToolResult

log = logging.getLogger(__name__)

# File types ExifTool identifies but that are not media: reading them tells the caller nothing.
_NOT_MEDIA = frozenset({"TXT", "JSON", "HTML", "XML", "CSV"})
_WRITE_REFUSALS = re.compile(
    r"Can't currently write|Writing of .* (?:files )?is not supported|Can't write|"
    r"not yet supported|Unknown file type|File format error|Not a valid",
    re.IGNORECASE,
)


class StripKeep(StrEnum):
    """What a strip leaves in place."""

    SAFE = "safe"  # ICC colour profile and orientation, so the picture looks the same
    NONE = "none"  # nothing at all


# TIFF-based files keep their image description in IFD0, which `-all=` cannot delete as a
# whole ("Can't delete IFD0 from TIFF"): the personal tags in it must be named one by one.
_TIFF_BASED = frozenset({"TIFF", "BTF", "DNG", "EIP"})
# IFD0 tags that describe the pixels themselves; deleting them would break the image.
_TIFF_STRUCTURE = frozenset(
    {
        "ImageWidth",
        "ImageHeight",
        "BitsPerSample",
        "Compression",
        "PhotometricInterpretation",
        "FillOrder",
        "StripOffsets",
        "SamplesPerPixel",
        "RowsPerStrip",
        "StripByteCounts",
        "PlanarConfiguration",
        "XResolution",
        "YResolution",
        "ResolutionUnit",
        "TileWidth",
        "TileLength",
        "TileOffsets",
        "TileByteCounts",
        "ExtraSamples",
        "SampleFormat",
        "Predictor",
        "ColorMap",
        "SubfileType",
        "OldSubfileType",
        "JPEGTables",
        "YCbCrCoefficients",
        "YCbCrSubSampling",
        "YCbCrPositioning",
        "ReferenceBlackWhite",
        "TransferFunction",
        "WhitePoint",
        "PrimaryChromaticities",
        "SMinSampleValue",
        "SMaxSampleValue",
        "HalftoneHints",
        "InkSet",
        "InkNames",
        "NumberofInks",
        "DotRange",
        "TargetPrinter",
        "Indexed",
        "SubIFD",
        "SubIFDs",
        "ICC_Profile",
        "Orientation",
    }
)
_PLAIN_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class FileFacts:
    file_type: str
    mime_type: str
    orientation: int | None
    ifd0_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteTag:
    tag: TagName
    value: str | None  # None deletes the tag
    numeric: bool = False  # write the value as is, without ExifTool's print conversion


def read_metadata(
    pool: ExifToolPool, path: Path, *, file_name: str, structures: bool = False
) -> MetadataReport:
    """The canonical report of one file, as `exiftool -j -G` sees it (and `-struct` if asked)."""
    raw = _read_json(pool, ["-j", "-G"], path)
    report = build_report(raw, file_name=file_name, size=path.stat().st_size, server_path=str(path))
    _ensure_media(report.file_type, raw)
    if structures and "XMP" in report.groups:
        # A second, XMP-only read: `-struct` changes only the XMP group, and the flat read
        # stays exactly what it was, so the default report keeps its shape byte for byte.
        xmp = _read_json(pool, ["-j", "-G", "-struct", "-XMP:all"], path, strict=False)
        scrubbed = build_report(xmp, file_name=file_name, size=0, server_path=str(path))
        report = report.with_structured_xmp(scrubbed.groups.get("XMP"))
    return report


def read_numeric(pool: ExifToolPool, path: Path) -> dict[str, Any]:
    """Numeric values keyed `Family1:Tag` (`IFD0:Make`, `ExifIFD:FNumber`), duplicates kept."""
    raw = _read_json(pool, ["-j", "-G1", "-n", "-a"], path)
    _ensure_media(str(raw.get("File:FileType", "")), raw)
    return {k: v for k, v in raw.items() if k != "SourceFile"}


@dataclass(frozen=True)
class NumericTag:
    """One tag with its family-0 and family-1 groups and its id inside its directory."""

    group0: str  # EXIF, MakerNotes, File, QuickTime, ...
    group1: str  # IFD0, ExifIFD, GPS, Canon, Track1, ...
    tag_id: int | str | None  # numeric for EXIF/TIFF tags
    name: str
    value: Any


def read_numeric_tags(pool: ExifToolPool, path: Path) -> list[NumericTag]:
    """Numeric values with groups and tag ids (`-j -G0:1 -n -a -D`), in ExifTool's order."""
    raw = _read_json(pool, ["-j", "-G0:1", "-n", "-a", "-D"], path)
    tags: list[NumericTag] = []
    for key, entry in raw.items():
        parts = key.split(":")
        if key == "SourceFile" or len(parts) not in (2, 3) or not isinstance(entry, dict):
            continue
        group0, group1, name = (parts[0], parts[0], parts[1]) if len(parts) == 2 else parts
        tags.append(NumericTag(group0, group1, entry.get("id"), name, entry.get("val")))
    plain = {f"{t.group0}:{t.name}": t.value for t in tags if t.group0 in ("File", "ExifTool")}
    _ensure_media(str(plain.get("File:FileType", "")), plain)
    return tags


def read_exif_block(pool: ExifToolPool, path: Path) -> bytes | None:
    """The file's EXIF block as stored (a TIFF structure), wherever the format keeps it."""
    raw = _read_json(pool, ["-j", "-b", "-EXIF:EXIF"], path, strict=False)
    value = raw.get("EXIF")
    if not isinstance(value, str) or not value.startswith("base64:"):
        return None
    import base64
    import binascii

    try:
        return base64.b64decode(value.removeprefix("base64:"), validate=True)
    except (binascii.Error, ValueError):
        return None


def strip_metadata(
    pool: ExifToolPool, src: Path, dst: Path, keep: StripKeep = StripKeep.SAFE
) -> FileFacts:
    """Write `src` without metadata to `dst`, without re-encoding the image data."""
    facts = quick_facts(pool, src)
    args = ["-all="]
    if keep is StripKeep.SAFE:
        # `--icc_profile:all` spares the colour profile from `-all=`, and the orientation read
        # above is written back in the same pass: much cheaper than `-tagsfromfile @`, which
        # re-reads the whole file.
        args.append("--icc_profile:all")
        if facts.orientation and facts.orientation != 1:
            args.append(f"-EXIF:Orientation#={facts.orientation}")
    if facts.file_type in _TIFF_BASED:
        args += [f"-IFD0:{tag}=" for tag in facts.ifd0_tags if tag not in _TIFF_STRUCTURE]
        if keep is StripKeep.NONE:
            args.append("-IFD0:Orientation=")
    _write(pool, args, src, dst)
    return facts


def write_tags(
    pool: ExifToolPool, src: Path, dst: Path, tags: Sequence[WriteTag], *, overwrite: bool = False
) -> None:
    """Write tags to a copy of `src` at `dst`; `overwrite` clears existing metadata first."""
    args: list[str] = []
    if overwrite:
        args += ["-all=", "--icc_profile:all"]
    for item in tags:
        if item.value is None:
            args.append(f"-{item.tag.arg}=")
        else:
            op = "#=" if item.numeric else "="
            args.append(f"-{item.tag.arg}{op}{check_value(item.tag.arg, item.value)}")
    result = _write(pool, args, src, dst)
    _refuse_tag_warnings(result.stderr, tags)


# ExifTool still writes the other tags when one is unknown, unwritable or has a bad value; it
# only warns, so the warnings are turned into an error naming the caller's tag.
_UNKNOWN_TAG = re.compile(r"Tag '[^']*' is not defined|doesn't exist or isn't writable")
_NOT_WRITABLE = re.compile(r"is not writable")


def _refuse_tag_warnings(stderr: str, tags: Sequence[WriteTag]) -> None:
    for line in stderr.splitlines():
        if not line.startswith("Warning:") or "[minor]" in line:
            continue
        for item in tags:
            if not re.search(rf"(?<![\w-]){re.escape(item.tag.name)}(?![\w-])", line, re.I):
                continue
            if _UNKNOWN_TAG.search(line):
                raise BadRequest(f"Unknown tag: {item.tag.arg}")
            if _NOT_WRITABLE.search(line):
                raise BadRequest(f"Tag is not writable: {item.tag.arg}")
            raise BadRequest(f"Invalid value for tag {item.tag.arg}")


def quick_facts(pool: ExifToolPool, path: Path) -> FileFacts:
    """File type, MIME type and orientation, read without parsing the rest of the metadata.

    JPEG, WebP and PNG (most of what callers send) are recognised by Pillow from the header,
    orientation included, without decoding pixels or a round trip to ExifTool. Anything else
    takes one quick ExifTool read (`-fast2`: no trailers or maker notes), which also lists
    TIFF's IFD0 tags, since a strip must name them.
    """
    header = _header_facts(path)
    if header is not None:
        return header
    raw = _read_json(
        pool,
        [
            "-j",
            "-n",
            "-G1",
            "-fast2",
            "-File:FileType",
            "-File:MIMEType",
            "-EXIF:Orientation",
            "-IFD0:all",
        ],
        path,
    )
    file_type = str(raw.get("File:FileType", ""))
    _ensure_media(file_type, raw)
    mime = str(raw.get("File:MIMEType") or "application/octet-stream")
    orientation = next(
        (v for k, v in raw.items() if k.endswith(":Orientation") and isinstance(v, int)), None
    )
    ifd0 = tuple(tag for key in raw if key.startswith("IFD0:") and _PLAIN_TAG.match(tag := key[5:]))
    return FileFacts(file_type=file_type, mime_type=mime, orientation=orientation, ifd0_tags=ifd0)


# Formats whose type and orientation Pillow reads from the header without decoding pixels;
# Pillow needs the orientation anyway to show pictures upright (pHash, previews).
_HEADER_MIME = {"JPEG": "image/jpeg", "WEBP": "image/webp", "PNG": "image/png"}
_ORIENTATION_TAG = 0x0112


def _header_facts(path: Path) -> FileFacts | None:
    """Facts of a JPEG, WebP or PNG from its header via Pillow; None for anything else."""
    try:
        with Image.open(path, formats=list(_HEADER_MIME)) as img:
            file_type = str(img.format)
            value = img.getexif().get(_ORIENTATION_TAG)
    except Exception:  # not one of those, or a header Pillow cannot parse: ExifTool decides
        return None
    if file_type not in _HEADER_MIME:
        return None
    orientation = value if isinstance(value, int) and 1 <= value <= 8 else None
    return FileFacts(
        file_type=file_type, mime_type=_HEADER_MIME[file_type], orientation=orientation
    )


def _read_json(
    pool: ExifToolPool, args: list[str], path: Path, *, strict: bool = True
) -> dict[str, Any]:
    result = pool.run([*args, "-charset", "filename=utf8", str(path)])
    try:
        records = json.loads(result.stdout) if result.stdout.strip() else []
    except json.JSONDecodeError as exc:
        log.error("exiftool printed unparseable JSON: %s", result.stderr[:500])
        raise EngineFailure("The metadata engine returned an unreadable report.") from exc
    if not records or not isinstance(records[0], dict):
        if not strict:
            return {}
        raise UnsupportedFile("This file type is not supported: no metadata could be read.")
    record: dict[str, Any] = records[0]
    return record


def _ensure_media(file_type: str, raw: dict[str, Any]) -> None:
    error = raw.get("ExifTool:Error") or raw.get("Error")
    mime = str(raw.get("File:MIMEType") or "")
    # scripts, web pages, contacts...: ExifTool names them, but they carry no media metadata
    if mime.startswith("text/") or file_type.endswith(" script"):
        raise UnsupportedFile("This file type is not supported: it is not an image or media file.")
    if not file_type or file_type in _NOT_MEDIA:
        reason = "it is not an image or media file" if file_type else "its format is unknown"
        raise UnsupportedFile(f"This file type is not supported: {reason}.")
    if error and not raw.get("File:MIMEType"):
        raise UnsupportedFile("This file could not be read: it is damaged or not a media file.")


def _write(pool: ExifToolPool, args: list[str], src: Path, dst: Path) -> ExifToolResult:
    # ExifTool never overwrites with -o: a file left at `dst` would pass for the result
    dst.unlink(missing_ok=True)
    result: ExifToolResult = pool.run(
        [*args, "-charset", "filename=utf8", "-m", "-o", str(dst), str(src)]
    )
    if dst.exists() and dst.stat().st_size > 0:
        return result
    message = result.stderr.strip() or result.stdout.strip()
    log.info("exiftool refused to write: %s", message.replace(str(src), "<input>")[:300])
    if _WRITE_REFUSALS.search(message):
        raise UnsupportedFile("This file type cannot be written: metadata can only be read.")
    raise UnsupportedFile("This file could not be processed: it is damaged or not supported.")
