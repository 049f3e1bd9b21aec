"""Checking the engine's own output before anyone gets it.

Every strip and write is followed by one more ExifTool read of the result (all duplicates, all
groups) and compared with what was intended:

- a strip leaves nothing beyond what describes the pixels and the container, and, in safe mode,
  the colour profile and orientation;
- a write reads back with the requested value, and no other place that holds the same field
  still shows the old one;
- a new position leaves no old coordinates in any group;
- the result is still the same type of file and still decodes.

The functions here only look; the operations decide what to do about what they find.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, features

from exif_service.domain.errors import EngineFailure, VerificationFailed
from exif_service.domain.lists import ListOp, split_words
from exif_service.domain.privacy import KeepRule, kept_by
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.imagedata import metadata_among_scans, same_image_data

# One tag as read back: family-0 group, family-1 group, name and value.


@dataclass(frozen=True)
class ReadTag:
    group0: str
    group1: str
    name: str
    value: Any

    @property
    def place(self) -> str:
        """Where the tag lives, as ExifTool accepts it when writing (`ItemList:Title`)."""
        return f"{self.group1}:{self.name}"


def read_tags(pool: ExifToolPool, path: Path, *, numeric: bool = False) -> list[ReadTag]:
    """Every tag of `path`, duplicates included (`-j -a -G0:1`), in ExifTool's order."""
    # -e: composite tags are computed from the others and would only repeat them
    args = ["-j", "-a", "-e", "-G0:1", "-api", "LargeFileSupport=1"]
    if numeric:
        args.append("-n")
    result = pool.run([*args, "-charset", "filename=utf8", str(path)])
    try:
        # pairs, not a dict: with -a the same key may appear more than once
        records = json.loads(result.stdout or "[]", object_pairs_hook=lambda pairs: pairs)
    except json.JSONDecodeError as exc:
        raise EngineFailure("The metadata engine returned an unreadable report.") from exc
    if not records:
        return []
    tags: list[ReadTag] = []
    for key, value in records[0]:
        parts = key.split(":")
        if len(parts) == 2:
            tags.append(ReadTag(parts[0], parts[0], parts[1], value))
        elif len(parts) == 3:
            tags.append(ReadTag(parts[0], parts[1], parts[2], value))
    return tags


# Groups that only describe the file as a file, or are computed from other tags.
_NEUTRAL_GROUPS = frozenset({"ExifTool", "File", "System", "Composite"})
# ...except text that ExifTool files under the File group (a JPEG's COM segment).
_FILE_LEVEL_TEXT = frozenset({"Comment"})

# Tags that describe the pixels and the container, per family-0 group. Anything else left after
# a strip is a leftover.
_STRUCTURE: dict[str, frozenset[str]] = {
    "PNG": frozenset(
        {
            "ImageWidth",
            "ImageHeight",
            "BitDepth",
            "ColorType",
            "Compression",
            "Filter",
            "Interlace",
            "Gamma",
            "SRGBRendering",
            "WhitePointX",
            "WhitePointY",
            "RedX",
            "RedY",
            "GreenX",
            "GreenY",
            "BlueX",
            "BlueY",
            "PixelsPerUnitX",
            "PixelsPerUnitY",
            "PixelUnits",
            "Palette",
            "Transparency",
            "SignificantBits",
            "BackgroundColor",
            "AnimationFrames",
            "AnimationPlays",
            "CICPColorPrimaries",
            "CICPTransferCharacteristics",
            "CICPMatrixCoefficients",
            "CICPVideoFullRangeFlag",
        }
    ),
    "GIF": frozenset(
        {
            "GIFVersion",
            "ImageWidth",
            "ImageHeight",
            "HasColorMap",
            "ColorResolutionDepth",
            "BitsPerPixel",
            "BackgroundColor",
            "PixelAspectRatio",
            "AnimationIterations",
            "FrameCount",
            "Duration",
            "TransparentColor",
            "Interlaced",
            "DelayTime",
        }
    ),
    "RIFF": frozenset(
        {
            "VP8Version",
            "ImageWidth",
            "ImageHeight",
            "HorizontalScale",
            "VerticalScale",
            "WebP_Flags",
            "AlphaPreprocessing",
            "AlphaFiltering",
            "AlphaCompression",
            "AlphaIsUsed",
            "BackgroundColor",
            "AnimationLoopCount",
            "Duration",
            "FrameCount",
        }
    ),
    "JFIF": frozenset({"JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"}),
    # the Adobe segment tells decoders how CMYK/YCCK JPEGs are coded; ExifTool keeps it
    "Adobe": frozenset({"DCTEncodeVersion", "APP14Flags0", "APP14Flags1", "ColorTransform"}),
    "PDF": frozenset({"PDFVersion", "Linearized", "PageCount", "Encryption", "UserAccess"}),
}

# IFD0 of TIFF-based files holds the image structure itself: these tags must stay.
TIFF_STRUCTURE = frozenset(
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
        # JPEG-compressed TIFF and thumbnails of the structure (not preview images)
        "JPEGProc",
        "JPEGInterchangeFormat",
        "JPEGInterchangeFormatLength",
    }
)

# What a raw converter needs from IFD0 of a DNG (the DNG specification's colour and layout
# tags), plus Make and Model, from which converters pick the camera's processing. Unique ids,
# serial numbers, the original raw file's name and the maker's private data are not among them.
DNG_STRUCTURE = frozenset(
    {
        "Make",
        "Model",
        "DNGVersion",
        "DNGBackwardVersion",
        "UniqueCameraModel",
        "LocalizedCameraModel",
        "CFAPlaneColor",
        "CFALayout",
        "LinearizationTable",
        "BlackLevelRepeatDim",
        "BlackLevel",
        "BlackLevelDeltaH",
        "BlackLevelDeltaV",
        "WhiteLevel",
        "DefaultScale",
        "DefaultCropOrigin",
        "DefaultCropSize",
        "ColorMatrix1",
        "ColorMatrix2",
        "ColorMatrix3",
        "CameraCalibration1",
        "CameraCalibration2",
        "CameraCalibration3",
        "ReductionMatrix1",
        "ReductionMatrix2",
        "ReductionMatrix3",
        "AnalogBalance",
        "AsShotNeutral",
        "AsShotWhiteXY",
        "BaselineExposure",
        "BaselineNoise",
        "BaselineSharpness",
        "BayerGreenSplit",
        "LinearResponseLimit",
        "DNGLensInfo",
        "ChromaBlurRadius",
        "AntiAliasStrength",
        "ShadowScale",
        "CalibrationIlluminant1",
        "CalibrationIlluminant2",
        "CalibrationIlluminant3",
        "BestQualityScale",
        "ActiveArea",
        "MaskedAreas",
        "AsShotICCProfile",
        "AsShotPreProfileMatrix",
        "CurrentICCProfile",
        "CurrentPreProfileMatrix",
        "ColorimetricReference",
        "CameraCalibrationSig",
        "ProfileCalibrationSig",
        "ProfileName",
        "ProfileHueSatMapDims",
        "ProfileHueSatMapData1",
        "ProfileHueSatMapData2",
        "ProfileHueSatMapData3",
        "ProfileHueSatMapEncoding",
        "ProfileToneCurve",
        "ProfileEmbedPolicy",
        "ProfileCopyright",
        "ForwardMatrix1",
        "ForwardMatrix2",
        "ForwardMatrix3",
        "ProfileLookTableDims",
        "ProfileLookTableData",
        "ProfileLookTableEncoding",
        "OpcodeList1",
        "OpcodeList2",
        "OpcodeList3",
        "NoiseProfile",
        "DefaultUserCrop",
        "DefaultBlackRender",
        "BaselineExposureOffset",
        "NoiseReductionApplied",
        "RawImageDigest",
        "NewRawImageDigest",
        "RawToPreviewGain",
        "CFARepeatPatternDim",
        "CFAPattern2",
        "IlluminantData1",
        "IlluminantData2",
        "IlluminantData3",
        "ColumnInterleaveFactor",
        "RGBTables",
        "ProfileGainTableMap",
        "DepthFormat",
        "DepthNear",
        "DepthFar",
        "DepthUnits",
        "DepthMeasureType",
        "SemanticName",
        "SemanticInstanceID",
        "MaskSubArea",
        "ImageSequenceInfo",
        "ImageStats",
        "ProfileDynamicRange",
        "ProfileGroupName",
        "JXLDistance",
        "JXLEffort",
        "JXLDecodeSpeed",
    }
)
# Tags the DNG specification requires a reader to find in IFD0.
DNG_REQUIRED = ("DNGVersion", "UniqueCameraModel")

# QuickTime groups that describe tracks and the container (family 1); Keys, UserData, ItemList
# and the like carry metadata.
_QUICKTIME_STRUCTURE = re.compile(r"^(QuickTime|Track\d+|Video|Audio|Meta|Stream\d*)$")
# Capture times in the movie and track headers: part of the structure, so they are zeroed.
_QUICKTIME_TIMES = frozenset(
    {
        "CreateDate",
        "ModifyDate",
        "TrackCreateDate",
        "TrackModifyDate",
        "MediaCreateDate",
        "MediaModifyDate",
    }
)
_ZERO_DATE = "0000:00:00 00:00:00"
HEIF_TYPES = frozenset({"HEIC", "HEIF", "AVIF"})
HEIF_ICC_NOTE = "ICC_Profile: part of the HEIF image structure"


@dataclass(frozen=True)
class StripCheck:
    """What a strip left: tags it should have removed, and tags kept for a stated reason."""

    leftovers: tuple[ReadTag, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass
class _Allowance:
    file_type: str
    keep_icc: bool
    keep_orientation: bool
    also: frozenset[str] = field(default_factory=frozenset)  # places written on purpose
    keep: tuple[KeepRule, ...] = ()  # what the caller asked to keep


def check_strip(
    tags: Iterable[ReadTag],
    file_type: str,
    *,
    keep_icc: bool,
    keep_orientation: bool,
    written: Iterable[str] = (),
    keep: tuple[KeepRule, ...] = (),
) -> StripCheck:
    """Compare a stripped file's tags with what the strip may leave (and the caller kept)."""
    also = frozenset(p.lower() for p in written)
    allow = _Allowance(file_type, keep_icc, keep_orientation, also, keep)
    leftovers: list[ReadTag] = []
    kept: list[str] = []
    for tag in tags:
        verdict = _judge(tag, allow)
        if verdict is True:
            continue
        if verdict == HEIF_ICC_NOTE:
            if HEIF_ICC_NOTE not in kept:
                kept.append(HEIF_ICC_NOTE)
            continue
        leftovers.append(tag)
    return StripCheck(tuple(leftovers), tuple(kept))


def _judge(tag: ReadTag, allow: _Allowance) -> bool | str:
    """True when the tag may stay, a note when it stays for a stated reason, else False."""
    if tag.group0 == "File" and tag.name in _FILE_LEVEL_TEXT:
        return False
    if tag.group0 in _NEUTRAL_GROUPS or tag.name == "SourceFile":
        return True
    if tag.place.lower() in allow.also or f"{tag.group0}:{tag.name}".lower() in allow.also:
        return True
    if kept_by(allow.keep, tag.group0, tag.group1, tag.name):
        return True
    if tag.group0 == "ICC_Profile":
        if allow.keep_icc:
            return True
        # ExifTool cannot delete a profile stored in the HEIF `colr` box
        return HEIF_ICC_NOTE if allow.file_type in HEIF_TYPES else False
    if tag.group0 == "EXIF" and (tag.group1 == "IFD0" or _RAW_IFDS.match(tag.group1)):
        return _judge_ifd(tag, allow)
    if tag.group0 == "QuickTime":
        if not _QUICKTIME_STRUCTURE.match(tag.group1):
            return False
        if tag.name in _QUICKTIME_TIMES:
            return str(tag.value).startswith("0000:00:00")
        return not _quicktime_personal(tag.name)
    if tag.group0 == "PNG" and tag.name == "ProfileName":
        return allow.keep_icc  # the name of the iCCP chunk's colour profile
    allowed = _STRUCTURE.get(tag.group0)
    return allowed is not None and tag.name in allowed


# TIFF-based files, raw formats included: their IFDs hold the image itself.
TIFF_FAMILY = frozenset(
    {"TIFF", "BTF", "DNG", "EIP", "NEF", "NRW", "CR2", "ARW", "SR2", "PEF", "ERF", "3FR", "MEF"}
)
_RAW_IFDS = re.compile(r"^(SubIFD\d*|IFD[1-9]\d*)$")
# What raw converters identify the camera and the preview by.
RAW_IDENTITY = frozenset({"Make", "Model", "ThumbnailTIFF", "CFAPattern2", "CFARepeatPatternDim"})
RAW_TYPES = TIFF_FAMILY - {"TIFF", "BTF", "EIP"}
# Metadata that QuickTime keeps in its structural groups on some files (HEIF item info, Apple
# movie headers): names that say something about a person, a place or a device.
_QUICKTIME_PERSONAL = re.compile(
    r"GPS|Location|Author|Artist|Title|Comment|Description|Copyright|Serial|Owner|Make|Model|"
    r"Software|Keyword|Creator|ContentIdentifier|Name$",
    re.IGNORECASE,
)
_QUICKTIME_STRUCTURAL_NAMES = frozenset(
    {"CompressorName", "HandlerDescription", "HandlerVendorID", "CompressorID"}
)


def _judge_ifd(tag: ReadTag, allow: _Allowance) -> bool:
    """IFD0, and in TIFF-based files the IFDs that hold the image: structure may stay."""
    tiff = allow.file_type in TIFF_FAMILY
    if tag.group1 != "IFD0" and not tiff:
        return False  # a JPEG's IFD1 is its thumbnail
    if tag.name == "Orientation":
        return allow.keep_orientation or tiff
    if tag.name in TIFF_STRUCTURE:
        return True
    # IFD0 of a raw file is the camera's own preview, which converters show and the file's
    # layout depends on; converters identify the camera by Make and Model
    if allow.file_type in RAW_TYPES and tag.name in RAW_IDENTITY:
        return True
    return allow.file_type == "DNG" and tag.name in DNG_STRUCTURE


def _quicktime_personal(name: str) -> bool:
    return name not in _QUICKTIME_STRUCTURAL_NAMES and bool(_QUICKTIME_PERSONAL.search(name))


def describe(tags: Sequence[ReadTag], limit: int = 6) -> str:
    """`Artist, ItemList:Title and 3 more` for a message."""
    names: list[str] = []
    for tag in tags:
        label = tag.name if tag.group0 in ("EXIF", "PDF") else tag.place
        if label not in names:
            names.append(label)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# -- writes ---------------------------------------------------------------------------------

# Tags ExifTool adds on its own when it creates a block (versions, digests, character sets,
# the default resolution): they come with a write and say nothing about anyone.
BOOKKEEPING = frozenset(
    {
        "XMPToolkit",
        "ApplicationRecordVersion",
        "EnvelopeRecordVersion",
        "CodedCharacterSet",
        "IPTCDigest",
        "ExifVersion",
        "YCbCrPositioning",
        "XResolution",
        "YResolution",
        "ResolutionUnit",
        "ColorSpace",
        "ComponentsConfiguration",
        "FlashpixVersion",
        "GPSVersionID",
    }
)


@dataclass(frozen=True)
class Expected:
    """A tag the caller asked for, and the values it must read back with.

    SET: exactly these values (empty: the tag is gone); ADD: these items are in the list (its
    other items may stay); REMOVE: none of these items is in it.
    """

    group: str | None
    name: str
    values: tuple[str, ...]
    numeric: bool = False
    op: ListOp = ListOp.SET


def missing_writes(tags: Sequence[ReadTag], expected: Sequence[Expected]) -> list[str]:
    """Requested tags that do not read back as requested (`XMP-dc:Title`)."""
    missing: list[str] = []
    for item in expected:
        found = [t for t in tags if matches(t, item.group, item.name)]
        label = f"{item.group}:{item.name}" if item.group else item.name
        if item.op is ListOp.ADD:
            if not any(_holds_all(t.value, item.values) for t in found):
                missing.append(label)
            continue
        if item.op is ListOp.REMOVE:
            gone = {_norm(v) for v in item.values}
            if any(_norm(v) in gone for t in found for v in _as_list(t.value)):
                missing.append(label)
            continue
        if not item.values:
            if any(_present(t.value) for t in found):
                missing.append(label)
            continue
        if not found or not any(_same_values(t.value, _as_stored(t, item.values)) for t in found):
            missing.append(label)
    return missing


def stale_places(
    before: Sequence[ReadTag], after: Sequence[ReadTag], expected: Sequence[Expected]
) -> list[ReadTag]:
    """Places in `after` that hold the same field as a written tag, still with its old value.

    The old values are those the file held before, in any group, under the written tag's name
    or a name readers treat as the same field (a movie's `ItemList:Title` next to `XMP:Title`).
    A list that is added to keeps its old items on purpose: they are not stale, in it or
    anywhere; the items a write removes are the old values of their field.
    """
    stale: list[ReadTag] = []
    adding = [e for e in expected if e.op is ListOp.ADD]
    for item in expected:
        if item.numeric or item.op is ListOp.ADD:
            continue  # numbers are compared by position (`stale_positions`), not as text
        names = same_field(item.name)
        if item.op is ListOp.REMOVE:
            old = {_norm(v) for v in item.values}
        else:
            old = {
                _norm(v)
                for t in before
                if in_field(t, names) and t.group0 not in _NEUTRAL_GROUPS
                for v in _as_list(t.value)
            }
            old -= {_norm(v) for v in item.values}
        if not old:
            continue
        for tag in after:
            if not in_field(tag, names) or tag.group0 in _NEUTRAL_GROUPS or tag in stale:
                continue
            if matches(tag, item.group, item.name):
                continue  # the requested place itself: `missing_writes` checks it
            if item.op is ListOp.SET and any(matches(tag, a.group, a.name) for a in adding):
                continue  # a list being added to in the same write keeps its items
            if any(_norm(v) in old for v in _as_list(tag.value)):
                stale.append(tag)
    return stale


def replaced_values(before: Sequence[ReadTag], expected: Sequence[Expected]) -> list[str]:
    """The text values a write replaced: what the file held in each written field before.

    Items of a list that is added to stay in the file, so they are not replaced; the items a
    write removes are.
    """
    adding = [e for e in expected if e.op is ListOp.ADD]
    kept = {
        _norm(v)
        for tag in before
        if any(matches(tag, a.group, a.name) for a in adding)
        for v in _as_list(tag.value)
    }
    old: list[str] = []
    for item in expected:
        if item.numeric or item.op is ListOp.ADD:
            continue
        if item.op is ListOp.REMOVE:
            old += list(item.values)
            continue
        names = same_field(item.name)
        new = {_norm(v) for v in item.values} | kept
        for tag in before:
            if tag.group0 in _NEUTRAL_GROUPS or not in_field(tag, names):
                continue
            old += [str(v) for v in _as_list(tag.value) if _norm(v) not in new]
    return old


# Names under which formats keep the same field; a write to one must leave none of the others
# with the old value.
_SAME_FIELD: tuple[frozenset[str], ...] = (
    frozenset({"title", "objectname"}),
    frozenset({"artist", "creator", "by-line", "author"}),
    frozenset({"imagedescription", "caption-abstract", "description"}),
    frozenset({"copyright", "copyrightnotice", "rights"}),
    frozenset({"keywords", "subject", "keyword"}),
)


def in_field(tag: ReadTag, names: frozenset[str]) -> bool:
    """Whether `tag` holds the field named by `names` (a PDF's Subject is its description)."""
    low = tag.name.lower()
    if tag.group0 == "PDF" and low == "subject":
        return "description" in names
    if tag.group0 == "PDF" and low == "creator":
        return False  # the application that made the PDF, not its author
    return low in names


def same_field(name: str) -> frozenset[str]:
    """Lower-case tag names that hold the same field as `name`."""
    low = name.lower()
    for group in _SAME_FIELD:
        if low in group:
            return group
    return frozenset({low})


def matches(tag: ReadTag, group: str | None, name: str) -> bool:
    """Whether `tag` is the place a write of `group:name` goes to (group of family 0 or 1)."""
    if tag.name.lower() != name.lower():
        return False
    if group is None:
        return tag.group0 not in _NEUTRAL_GROUPS
    return group.lower() in (tag.group0.lower(), tag.group1.lower())


# EXIF keeps GPS coordinates unsigned, the sign going to the N/S, E/W or above/below reference
_UNSIGNED_GPS = frozenset({"GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSDestLatitude"})


def _as_stored(tag: ReadTag, values: tuple[str, ...]) -> tuple[str, ...]:
    if tag.group0 == "EXIF" and tag.name in _UNSIGNED_GPS:
        return tuple(v.lstrip("-") for v in values)
    return values


def _present(value: Any) -> bool:
    return value not in (None, "", [])


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _norm(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def _holds_all(actual: Any, wanted: tuple[str, ...]) -> bool:
    """Every wanted item is in the list (or in a comma-separated text, for movie keywords)."""
    got = _as_list(actual)
    have = {_norm(v) for v in got} | {_norm(w) for w in split_words([str(v) for v in got])}
    return all(_norm(w) in have or any(_loosely_equal(h, w) for h in got) for w in wanted)


def _same_values(actual: Any, wanted: tuple[str, ...]) -> bool:
    got = _as_list(actual)
    if len(wanted) > 1:
        # a list tag: every requested item is in it (append mode may keep earlier ones)
        have = {_norm(v) for v in got}
        return all(_norm(w) in have or any(_loosely_equal(h, w) for h in got) for w in wanted)
    return any(_loosely_equal(v, wanted[0]) for v in got)


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _loosely_equal(actual: Any, wanted: str) -> bool:
    """Equal as text, as numbers, as a date, or as ExifTool's spelling of an enumeration.

    ExifTool normalises what it writes (`2024-03-15` reads back `2024:03:15 00:00:00`, `1/1000`
    stays `1/1000`, `inch` reads back `inches`): the value counts as written when it reads back
    the same in any of these senses.
    """
    a, w = _norm(actual), _norm(wanted)
    if a == w:
        return True
    if isinstance(actual, bool) or a in ("", "none") and w not in ("", "none"):
        return False
    a_nums, w_nums = _NUMBER.findall(a), _NUMBER.findall(w)
    if a_nums and w_nums and len(a_nums) >= len(w_nums) and not re.search(r"[a-z]{3,}", w):
        try:
            pairs = zip(a_nums, w_nums, strict=False)
            if all(math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-6) for x, y in pairs):
                return True
        except ValueError:
            pass
        # fractions and rationals written as decimals, and the other way round
        try:
            return math.isclose(_number(a), _number(w), rel_tol=1e-4)
        except (ValueError, ZeroDivisionError):
            return False
    # enumerations: `inch` -> `inches`, `fired` -> `Fired, Return detected`
    return len(w) >= 2 and (a.startswith(w) or w.startswith(a) and len(a) >= 2)


def _number(text: str) -> float:
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    return float(text)


# -- positions ------------------------------------------------------------------------------

_COORDINATE = re.compile(r"GPS(?:Dest)?(?:Latitude|Longitude|Coordinates|Position)$|GPSAltitude$")


def stale_positions(
    tags: Sequence[ReadTag], lat: float, lng: float, tolerance: float = 1e-5
) -> list[ReadTag]:
    """Coordinate tags (read with `-n`) that do not hold the new position."""
    stale: list[ReadTag] = []
    for tag in tags:
        if tag.group0 in ("Composite", "File") or not _COORDINATE.search(tag.name):
            continue
        if "Altitude" in tag.name:
            continue
        numbers = [float(n) for n in _NUMBER.findall(str(tag.value))]
        if not numbers:
            continue
        if "Latitude" in tag.name:
            wanted = [abs(lat)] if "Ref" not in tag.name else []
            ok = any(math.isclose(abs(numbers[0]), w, abs_tol=tolerance) for w in wanted)
        elif "Longitude" in tag.name:
            ok = math.isclose(abs(numbers[0]), abs(lng), abs_tol=tolerance)
        else:  # `lat lng [alt]` together
            ok = len(numbers) >= 2 and (
                math.isclose(numbers[0], lat, abs_tol=tolerance)
                and math.isclose(numbers[1], lng, abs_tol=tolerance)
            )
        if not ok:
            stale.append(tag)
    return stale


# -- the file itself ------------------------------------------------------------------------

# Formats Pillow decodes; the rest are checked by type and by ExifTool's own structure reading.
_PILLOW_FORMATS = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WEBP",
    "GIF": "GIF",
    "TIFF": "TIFF",
    **({"AVIF": "AVIF"} if features.check("avif") else {}),
}


# Above this, decoding to check would cost more memory than a request should; the header and
# ExifTool's reading of the structure are then the check.
_DECODE_PIXELS = 120_000_000


def check_decodes(
    path: Path,
    file_type: str,
    mime_type: str,
    tags: Sequence[ReadTag],
    source: Path | None = None,
) -> None:
    """Raise VerificationFailed when the output is no longer a usable file of its type, or is a
    JPEG carrying metadata segments among its image data.

    With the `source`, a JPEG, PNG or WebP whose coded pixels are byte for byte the source's
    needs no decoding: it decodes exactly as the source did.
    """
    mimes = [str(t.value) for t in tags if t.group0 == "File" and t.name == "MIMEType"]
    errors = [t for t in tags if t.group0 == "ExifTool" and t.name == "Error"]
    if errors or not mimes or mimes[0] != mime_type:
        raise VerificationFailed(
            f"The processed {file_type} file could not be read back as {file_type}; "
            "it was not returned."
        )
    if file_type == "DNG":
        present = {t.name for t in tags if t.group1 == "IFD0"}
        lost = [name for name in DNG_REQUIRED if name not in present]
        if lost:
            raise VerificationFailed(
                f"The processed DNG lost {', '.join(lost)}, which raw converters need; "
                "it was not returned."
            )
    same = source is not None and bool(same_image_data(source, path, file_type))
    if file_type == "JPEG" and (late := metadata_among_scans(path, source if same else None)):
        # copied with the image data, unseen by ExifTool's reads: no strip or write removes it
        raise VerificationFailed(
            f"The processed JPEG file still holds metadata among its image data "
            f"({', '.join(dict.fromkeys(late))} after the first scan); it was not returned."
        )
    fmt = _PILLOW_FORMATS.get(file_type)
    if fmt is None or same:
        return
    try:
        with warnings.catch_warnings():
            # the size limit is the pixel reader's business; here only decoding counts
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=[fmt]) as img:
                if img.width * img.height > _DECODE_PIXELS:
                    return
                if fmt == "JPEG":
                    # the whole entropy-coded stream is decoded, at an eighth of the size
                    img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
                img.load()
    except Exception as exc:  # any decoder complaint means the file is not usable
        raise VerificationFailed(
            f"The processed {file_type} file no longer decodes; it was not returned."
        ) from exc
