"""The privacy report: what a file says about the people behind it, and what each strip preset
would take out of it, read before anything is stripped.

The findings are the privacy table's verdict (domain/privacy.py) on every tag of one ExifTool
read. The preset lists are predicted from that same read with the rules the strip follows
(engine/operations.py `strip_metadata`, engine/verify.py `check_strip`), so that `remove` names
exactly the `Group:Tag`s the strip then takes out:

- `safe` and `all` delete every metadata block (`-all=`): what the strip's check would flag as
  a leftover goes, and so do blocks the check would let stay but `-all=` drops anyway (a JPEG's
  JFIF segment, EXIF outside TIFF-based files but the orientation `safe` writes back, a movie's
  metadata boxes with their handlers);
- `location` and `sensitive` delete the tags of their categories by name, and ExifTool then drops
  a block left with nothing of its own: an XMP packet holding only its toolkit name, an IPTC
  record holding only its version, an EXIF directory holding only ExifTool's mandatory entries,
  a movie's metadata box holding no item;
- either way a WebP's extended header goes with its last profile or metadata block.

Lists name tags, not copies: a `Group:Tag` is removed when no copy of it is left, kept when one
is. A movie's header times cannot be deleted, the strip zeroes them; a zero date says nothing,
so a zeroed header time counts as removed and one that was zero already is in neither list.
An image embedded in EXIF (a thumbnail) is listed as ExifTool lists it, and goes when the
directory holding its offset goes. tests/integration/test_privacy_report.py strips, re-reads
and compares every preset on JPEG, PNG, HEIC and MP4 (and WebP, TIFF, DNG, MOV).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from exif_service.domain.accounts import Account
from exif_service.domain.fields import signed_gps
from exif_service.domain.privacy import (
    CREDENTIALS_GROUP,
    PRESET_REMOVES,
    PROVENANCE_RULE,
    Category,
    Preset,
    Risk,
    StripPlan,
    classify,
    risk_of,
)
from exif_service.domain.provenance import Place
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import FileFacts, quick_facts, read_numeric
from exif_service.engine.provenance import reverse_geocode
from exif_service.engine.verify import TIFF_FAMILY, ReadTag, check_strip, read_tags
from exif_service.services.quota import charge, charge_account
from exif_service.services.sources import LocalFile, Source, materialize

# Groups that describe the file as a file; the strip's check decides about their few metadata
# tags (a JPEG's COM comment).
_NEUTRAL = frozenset({"File", "System", "ExifTool", "Composite"})
MAX_VALUE_CHARS = 200  # a finding shows enough of a value to recognise it, not a whole essay
_BINARY = re.compile(r"^\(Binary data (\d+) bytes(?:, use -b option to extract)?\)$")
_ZERO_DATE = "0000:00:00"
# Movies as the strip tells them apart (it zeroes their header times)
_MOVIES = frozenset({"MP4", "MOV", "M4V", "3GP", "3G2", "CRM"})


@dataclass(frozen=True)
class Finding:
    """One tag that says something about someone: its category, place, value and why."""

    category: Category
    tag: str  # `Group:Tag`, the family-1 group as ExifTool names it (`GPS:GPSLatitude`)
    value: str  # as ExifTool prints it, capped at MAX_VALUE_CHARS
    why: str


@dataclass(frozen=True)
class PresetEffect:
    """What a strip with one preset would remove from the file, and what would stay."""

    remove: tuple[str, ...]
    keep: tuple[str, ...]


@dataclass(frozen=True)
class PrivacyReport:
    """What one file gives away, how much that is, and what each preset would do about it."""

    file_name: str
    risk: Risk
    findings: tuple[Finding, ...]
    presets: Mapping[Preset, PresetEffect]


def report_for_owner(pool: ExifToolPool, source: Source, owner: Account) -> PrivacyReport:
    """The report of the caller's file or URL, charged as one image of the owner's plan."""
    with charge_account(owner), materialize(source) as local:
        return privacy_report(pool, local)


def public_report(pool: ExifToolPool, source: Source, subject: str, limit: int) -> PrivacyReport:
    """The report for a visitor, charged to `subject` (their address) within `limit` a day."""
    with charge(subject, limit), materialize(source) as local:
        return privacy_report(pool, local)


def privacy_report(pool: ExifToolPool, local: LocalFile) -> PrivacyReport:
    """Findings, risk and the four presets' lists of one file, from one read of its tags."""
    facts = quick_facts(pool, local.path)  # what the strip itself decides by, the same way
    tags = read_tags(pool, local.path)
    images = _embedded_images(tags)
    findings = _findings(tags, images, _Scrub(str(local.path), str(local.workdir), local.file_name))
    if any(f.category is Category.LOCATION for f in findings):
        place = _place(pool, local)
        if place is not None:
            findings = _named(findings, place)
    return PrivacyReport(
        file_name=local.file_name,
        risk=risk_of(f.category for f in findings),
        findings=findings,
        presets={preset: _effect(tags, images, facts, preset) for preset in Preset},
    )


def _place(pool: ExifToolPool, local: LocalFile) -> Place | None:
    """The nearest city to the file's position (only files with location findings pay for it)."""
    point = signed_gps(read_numeric(pool, local.path))
    return reverse_geocode(pool, point.lat, point.lng) if point is not None else None


def _named(findings: tuple[Finding, ...], place: Place) -> tuple[Finding, ...]:
    """Location findings that say where: `reveals a position 0.6 km from Arezzo, ...`."""
    why = f"reveals a position {place.describe()}"
    return tuple(replace(f, why=why) if f.category is Category.LOCATION else f for f in findings)


# Images embedded in EXIF that ExifTool builds from an offset and a length (its composite
# ThumbnailImage, PreviewImage...): the engine's reads leave them out (`-e`), yet a plain
# `exiftool -a -G1` lists them in the directory that holds the two.
_IMAGE_POINTERS = {
    "ThumbnailImage": ("ThumbnailOffset", "ThumbnailLength"),
    "PreviewImage": ("PreviewImageStart", "PreviewImageLength"),
    "JpgFromRaw": ("JpgFromRawStart", "JpgFromRawLength"),
    "OtherImage": ("OtherImageStart", "OtherImageLength"),
}
# ...and the uncompressed preview of a raw file, rebuilt from a reduced-resolution directory
# holding these (Exif.pm, RebuildTIFF)
_TIFF_PREVIEW = (
    "ImageWidth",
    "ImageHeight",
    "BitsPerSample",
    "PhotometricInterpretation",
    "StripOffsets",
    "SamplesPerPixel",
    "RowsPerStrip",
    "StripByteCounts",
)


@dataclass(frozen=True)
class _Image:
    """An embedded image and the offset tag it stands or falls with."""

    tag: ReadTag
    offset: ReadTag


def _embedded_images(tags: Sequence[ReadTag]) -> list[_Image]:
    images: list[_Image] = []
    for name, (start, length) in _IMAGE_POINTERS.items():
        for offset in (t for t in tags if t.name == start):
            size = next(
                (t.value for t in tags if t.name == length and t.group1 == offset.group1), None
            )
            if size is not None:
                value = f"(Binary data {size} bytes)"
                images.append(_Image(ReadTag(offset.group0, offset.group1, name, value), offset))
    preview = _tiff_preview(tags)
    return [*images, preview] if preview else images


def _tiff_preview(tags: Sequence[ReadTag]) -> _Image | None:
    """ExifTool's ThumbnailTIFF: the first uncompressed reduced-resolution directory."""
    for kind in (t for t in tags if t.group0 == "EXIF" and t.name == "SubfileType"):
        held = {t.name: t for t in tags if t.group0 == "EXIF" and t.group1 == kind.group1}
        compression = held.get("Compression")
        if (
            kind.value == "Reduced-resolution image"
            and compression is not None
            and compression.value == "Uncompressed"
            and all(name in held for name in _TIFF_PREVIEW)
        ):
            preview = ReadTag(kind.group0, kind.group1, "ThumbnailTIFF", "(Binary data)")
            return _Image(preview, held["StripOffsets"])
    return None


# -- findings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scrub:
    """What a shown value must not give away: the server's copy of the file and its folder."""

    path: str
    folder: str
    file_name: str

    def __call__(self, text: str) -> str:
        return text.replace(self.path, self.file_name).replace(self.folder, "")


def _findings(
    tags: Sequence[ReadTag], images: Sequence[_Image], scrub: _Scrub
) -> tuple[Finding, ...]:
    found: list[Finding] = []
    manifest = [tag for tag in tags if tag.group0 == CREDENTIALS_GROUP]
    if manifest:
        found.append(_manifest_finding(manifest, scrub))
    for tag in [*tags, *(image.tag for image in images)]:
        if tag.group0 == CREDENTIALS_GROUP:
            continue  # summed up in one finding: the manifest is removed or kept whole
        rule = classify(tag.group0, tag.group1, tag.name)
        if rule is None or _empty(tag.value) or _zero_date(tag.value):
            continue
        finding = Finding(rule.category, tag.place, _shown(tag.value, scrub), rule.why)
        if finding not in found:  # `-a` repeats a tag some formats keep twice
            found.append(finding)
    order = list(Category)
    return tuple(sorted(found, key=lambda f: order.index(f.category)))


# what a person recognises in a manifest's entries, in the order they are told
_MANIFEST_FACTS = (
    ("Claim_Generator_InfoName", "made with {}"),
    ("ActionsSoftwareAgentName", "by {}"),
    ("ActionsDigitalSourceType", "source: {}"),
    ("Title", "titled {}"),
)


def _manifest_finding(manifest: Sequence[ReadTag], scrub: _Scrub) -> Finding:
    """One finding for a C2PA manifest (ExifTool lists each of its entries as a tag)."""
    facts = [f"{len(manifest)} entries"]
    for name, phrase in _MANIFEST_FACTS:
        value = next((tag.value for tag in manifest if tag.name == name), None)
        if value is not None and not _empty(value):
            text = _shown(value, scrub)
            facts.append(phrase.format(text.rsplit("/", 1)[-1] if "://" in text else text))
    return Finding(
        PROVENANCE_RULE.category, f"{CREDENTIALS_GROUP}:all", "; ".join(facts), PROVENANCE_RULE.why
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not value)


def _zero_date(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_ZERO_DATE)


def _shown(value: Any, scrub: _Scrub) -> str:
    if isinstance(value, list):
        text = ", ".join(_text(v) for v in value)
    else:
        text = _text(value)
    text = scrub(text)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    binary = _BINARY.match(text)
    return f"(Binary data {binary.group(1)} bytes)" if binary else text


# -- what each preset removes ---------------------------------------------------------------


def _effect(
    tags: Sequence[ReadTag], images: Sequence[_Image], facts: FileFacts, preset: Preset
) -> PresetEffect:
    if preset in PRESET_REMOVES:
        doomed = _targeted(tags, facts, StripPlan(preset))
    else:
        doomed = _wholesale(tags, facts, keep_profile=preset is Preset.SAFE)
    doomed |= _emptied_webp_header(tags, doomed)
    # the strip never names an embedded image (it does not see one): it goes with its offset
    doomed |= {id(image.tag) for image in images if id(image.offset) in doomed}
    listed = _listed([*tags, *(image.tag for image in images)])
    copies: dict[str, list[bool]] = {}
    for tag in listed:
        copies.setdefault(tag.place, []).append(id(tag) in doomed)
    remove = tuple(place for place, gone in copies.items() if all(gone))
    keep = tuple(place for place, gone in copies.items() if not all(gone))
    return PresetEffect(remove, keep)


def _listed(tags: Sequence[ReadTag]) -> list[ReadTag]:
    """The tags the lists name: metadata (a file-level comment included), no zero dates."""
    file_text = {
        id(t)
        for t in check_strip(tags, "", keep_icc=True, keep_orientation=True).leftovers
        if t.group0 in _NEUTRAL
    }
    return [
        t
        for t in tags
        if (t.group0 not in _NEUTRAL or id(t) in file_text)
        and not (t.group0 == "QuickTime" and _zero_date(t.value))
    ]


def _is_movie(facts: FileFacts) -> bool:
    return facts.mime_type.startswith("video/") or facts.file_type in _MOVIES


def _wholesale(tags: Sequence[ReadTag], facts: FileFacts, *, keep_profile: bool) -> set[int]:
    """`safe` (keep_profile) and `all`: what `-all=` and the strip's check leave out."""
    check = check_strip(tags, facts.file_type, keep_icc=keep_profile, keep_orientation=keep_profile)
    doomed = {id(t) for t in check.leftovers}
    # the orientation `safe` writes back into a new IFD0, with the entry ExifTool requires there
    rotated = keep_profile and bool(facts.orientation) and facts.orientation != 1
    rewritten = {"Orientation", "YCbCrPositioning"} if rotated else set()
    movie = _is_movie(facts)
    for tag in tags:
        if tag.group0 == "JFIF":
            doomed.add(id(tag))  # `-all=` drops the JFIF segment, which no decoder needs
        elif tag.group0 == "EXIF" and facts.file_type not in TIFF_FAMILY:
            # outside TIFF-based files EXIF is one block, deleted whole
            if not (tag.group1 == "IFD0" and tag.name in rewritten):
                doomed.add(id(tag))
        elif movie and tag.group1 == "QuickTime" and tag.name.startswith("Handler"):
            doomed.add(id(tag))  # the movie's metadata boxes go, and their handlers with them
    return doomed


def _targeted(tags: Sequence[ReadTag], facts: FileFacts, plan: StripPlan) -> set[int]:
    """`location` and `sensitive`: the tags deleted by name, and the blocks left empty."""
    doomed = {id(t) for t in tags if plan.removes(t.group0, t.group1, t.name)}
    doomed |= _emptied_xmp(tags, doomed) | _emptied_iptc(tags, doomed)
    if facts.file_type not in TIFF_FAMILY:
        doomed |= _emptied_exif(tags, doomed)
    if _is_movie(facts):
        doomed |= _emptied_movie_boxes(tags, doomed)
    return doomed


def _emptied_webp_header(tags: Sequence[ReadTag], doomed: set[int]) -> set[int]:
    """A WebP's extended header (VP8X, whose flags ExifTool lists) is written only while the
    file keeps a colour profile, EXIF, XMP, transparency or animation; without them it goes."""
    flags = [t for t in tags if t.group0 == "RIFF" and t.name == "WebP_Flags"]
    if not flags or any(word in str(flags[0].value) for word in ("Alpha", "Animation")):
        return set()
    held = [t for t in tags if t.group0 in ("ICC_Profile", "EXIF", "XMP")]
    if any(id(t) not in doomed for t in held) or not any(id(t) in doomed for t in held):
        return set()  # something stays, or nothing is deleted and the file is copied as it is
    return {id(t) for t in flags}


def _emptied_xmp(tags: Sequence[ReadTag], doomed: set[int]) -> set[int]:
    """An XMP packet with no property left is dropped, its toolkit name with it."""
    xmp = [t for t in tags if t.group0 == "XMP"]
    left = [t for t in xmp if id(t) not in doomed and t.place != "XMP-x:XMPToolkit"]
    touched = any(id(t) in doomed for t in xmp)  # ExifTool rewrites only what it deletes from
    return {id(t) for t in xmp} if touched and not left else set()


# The IPTC envelope record (record 1); every other IPTC tag here is in the application record.
_IPTC_ENVELOPE = frozenset(
    {
        "EnvelopeRecordVersion",
        "Destination",
        "FileFormat",
        "FileVersion",
        "ServiceIdentifier",
        "EnvelopeNumber",
        "ProductID",
        "EnvelopePriority",
        "DateSent",
        "TimeSent",
        "CodedCharacterSet",
        "UniqueObjectName",
        "ARMIdentifier",
        "ARMVersion",
    }
)


def _emptied_iptc(tags: Sequence[ReadTag], doomed: set[int]) -> set[int]:
    """An IPTC application record left with only its version number is dropped."""
    record = [t for t in tags if t.group0 == "IPTC" and t.name not in _IPTC_ENVELOPE]
    left = [t for t in record if id(t) not in doomed and t.name != "ApplicationRecordVersion"]
    touched = any(id(t) in doomed for t in record)
    return {id(t) for t in record} if touched and not left else set()


# ExifTool's mandatory EXIF entries at the values it writes them with (WriteExif.pl, %mandatory),
# as printed. A directory that loses an entry and is left with only these is dropped whole.
_MANDATORY: dict[str, dict[str, str]] = {
    "IFD0": {"YCbCrPositioning": "Centered"},
    "IFD1": {
        "Compression": "JPEG (old-style)",
        "XResolution": "72",
        "YResolution": "72",
        "ResolutionUnit": "inches",
    },
    "ExifIFD": {
        "ExifVersion": "0232",
        "ComponentsConfiguration": "Y, Cb, Cr, -",
        "ColorSpace": "Uncalibrated",
    },
    "GPS": {"GPSVersionID": "2.3.0.0"},
    "InteropIFD": {"InteropVersion": "0100"},
}
# Sub-directories and the directory holding their pointer, children first: a parent that
# loses a pointer has lost an entry.
_PARENT = {"InteropIFD": "ExifIFD", "GPS": "IFD0", "ExifIFD": "IFD0"}
_IFD_ORDER = ("InteropIFD", "GPS", "ExifIFD", "IFD1", "IFD0")


def _emptied_exif(tags: Sequence[ReadTag], doomed: set[int]) -> set[int]:
    """EXIF directories left holding only mandatory entries (and all of EXIF with IFD0)."""
    exif = [t for t in tags if t.group0 == "EXIF"]
    present = {t.group1 for t in exif}
    mandatory = _mandatory_values(tags)
    dropped: set[str] = set()
    for ifd in _IFD_ORDER:
        entries = [t for t in exif if t.group1 == ifd]
        if not entries:
            continue
        children = [c for c, parent in _PARENT.items() if parent == ifd and c in present]
        holds_more = any(c not in dropped for c in children) or _holds_more(ifd, tags, present)
        left = [t for t in entries if id(t) not in doomed]
        lost = len(left) < len(entries) or any(c in dropped for c in children)
        only_mandatory = all(mandatory[ifd].get(t.name) == str(t.value) for t in left)
        if lost and not holds_more and only_mandatory:
            dropped.add(ifd)
    if "IFD0" in dropped:
        return {id(t) for t in exif}  # no IFD0, no EXIF
    return {id(t) for t in exif if t.group1 in dropped}


def _holds_more(ifd: str, tags: Sequence[ReadTag], present: set[str]) -> bool:
    """Entries the read does not list as the directory's own tags: pointers elsewhere."""
    if ifd == "ExifIFD":
        return any(t.group0 == "MakerNotes" for t in tags)  # the maker note lives in ExifIFD
    if ifd == "IFD0":
        return "IFD1" in present  # IFD0 points on to the thumbnail's IFD1
    return False


def _mandatory_values(tags: Sequence[ReadTag]) -> dict[str, dict[str, str]]:
    """The mandatory entries; in a JPEG with JFIF, IFD0's resolution is the JFIF one too."""
    jfif = {t.name: str(t.value) for t in tags if t.group0 == "JFIF"}
    values = {ifd: dict(entries) for ifd, entries in _MANDATORY.items()}
    for name in ("XResolution", "YResolution", "ResolutionUnit"):
        if name in jfif:
            values["IFD0"][name] = jfif[name]
    return values


def _emptied_movie_boxes(tags: Sequence[ReadTag], doomed: set[int]) -> set[int]:
    """A movie's `meta` box left with no item is dropped, and its handler with it: Keys items
    live in one box, ItemList items in another, whose handler names Apple as its vendor."""

    def left(group: str) -> bool:
        return any(t.group1 == group and id(t) not in doomed for t in tags)

    def had(group: str) -> bool:
        return any(t.group1 == group for t in tags)

    keys_gone = had("Keys") and not left("Keys")
    items_gone = had("ItemList") and not left("ItemList")
    out: set[int] = set()
    for tag in tags:
        if tag.group1 != "QuickTime":
            continue
        if tag.name == "HandlerVendorID" and items_gone:
            out.add(id(tag))
        elif tag.name == "HandlerType" and (keys_gone or items_gone):
            if not left("Keys") and not left("ItemList"):
                out.add(id(tag))
    return out
