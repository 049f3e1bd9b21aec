"""Read, strip and write metadata: the operations every surface is built from."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from PIL import Image

from exif_service.domain.errors import (
    BadRequest,
    EngineFailure,
    FileTooComplex,
    UnsupportedFile,
    VerificationFailed,
)
from exif_service.domain.lists import ListOp, merge_words, split_words
from exif_service.domain.metadata import NumericTag
from exif_service.domain.privacy import CREDENTIALS_GROUP, PRESET_REMOVES, Preset, StripPlan
from exif_service.domain.provenance import (
    CREDENTIALS_KEPT_NOTE,
    CREDENTIALS_UNTOUCHED_NOTE,
    CredentialsOutcome,
    Validation,
    has_manifest,
)
from exif_service.domain.report import MetadataReport, build_report
from exif_service.domain.structures import SPLIT_READ_ARGS, split_read
from exif_service.domain.tags import TagName, check_value
from exif_service.engine import pdf
from exif_service.engine.exiftool import ExifToolPool, ExifToolResult
from exif_service.engine.provenance import declares_manifest, read_content_credentials
from exif_service.engine.verify import (
    BOOKKEEPING,
    DNG_STRUCTURE,
    RAW_IDENTITY,
    RAW_TYPES,
    TIFF_FAMILY,
    TIFF_STRUCTURE,
    Expected,
    ReadTag,
    check_decodes,
    check_strip,
    describe,
    in_field,
    matches,
    missing_writes,
    read_tags,
    replaced_values,
    same_field,
    stale_places,
    stale_positions,
)

log = logging.getLogger(__name__)

# File types ExifTool identifies but that are not media: reading them tells the caller nothing.
_NOT_MEDIA = frozenset({"TXT", "JSON", "HTML", "XML", "CSV"})
_WRITE_REFUSALS = re.compile(
    r"Can't currently write|Writing of .* (?:files )?is not supported|Can't write|"
    r"not yet supported|Unknown file type|File format error|Not a valid",
    re.IGNORECASE,
)


# TIFF-based files keep their image description in IFD0, which `-all=` cannot delete as a
# whole ("Can't delete IFD0 from TIFF"): the personal tags in it must be named one by one.
_TIFF_BASED = TIFF_FAMILY
# QuickTime-based movies, whose header times `-all=` leaves in place.
_QUICKTIME_MOVIES = frozenset({"MP4", "MOV", "M4V", "3GP", "3G2", "CRM"})
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
    op: ListOp = ListOp.SET  # ADD / REMOVE: one item of a list tag, the others kept
    joined: bool = False  # a list kept as one comma-separated text (movie and PDF keywords)


def read_metadata(
    pool: ExifToolPool, path: Path, *, file_name: str, structures: bool = False
) -> MetadataReport:
    """The canonical report of one file, as `exiftool -j -G` sees it (and `-struct` if asked)."""
    if not structures:
        return _finish_report(_read_json(pool, ["-j", "-G"], path), path, file_name)
    # One read gives both forms (domain/structures.py says how, and when it cannot vouch for
    # them): the second, XMP-only read costs a third of an extract's ExifTool time.
    split = split_read(_read_json(pool, list(SPLIT_READ_ARGS), path))
    if split is None:
        return _read_twice(pool, path, file_name=file_name)
    report = _finish_report(split.flat, path, file_name)
    if "XMP" in report.groups and split.structured_xmp is not None:
        report = _with_structures(report, split.structured_xmp, path, file_name)
    return report


def _read_twice(pool: ExifToolPool, path: Path, *, file_name: str) -> MetadataReport:
    """`read_metadata(structures=True)` the long way: the flat read, then an XMP-only one."""
    report = _finish_report(_read_json(pool, ["-j", "-G"], path), path, file_name)
    if "XMP" in report.groups:
        # `-struct` changes only the XMP group, and the flat read stays exactly what it was,
        # so the default report keeps its shape byte for byte.
        xmp = _read_json(pool, ["-j", "-G", "-struct", "-XMP:all"], path, strict=False)
        report = _with_structures(report, xmp, path, file_name)
    return report


def _finish_report(raw: dict[str, Any], path: Path, file_name: str) -> MetadataReport:
    """The report of one flat record: server facts scrubbed, media checked, C2PA validated."""
    report = build_report(raw, file_name=file_name, size=path.stat().st_size, server_path=str(path))
    _ensure_media(report.file_type, raw)
    if has_manifest(report.groups):
        # only files ExifTool saw a C2PA manifest in pay for validating it
        credentials = read_content_credentials(path, report.mime_type)
        report = replace(report, content_credentials=credentials)
    return report


def _with_structures(
    report: MetadataReport, xmp: dict[str, Any], path: Path, file_name: str
) -> MetadataReport:
    scrubbed = build_report(xmp, file_name=file_name, size=0, server_path=str(path))
    return report.with_structured_xmp(scrubbed.groups.get("XMP"))


def read_numeric(pool: ExifToolPool, path: Path) -> dict[str, Any]:
    """Numeric values keyed `Family1:Tag` (`IFD0:Make`, `ExifIFD:FNumber`), duplicates kept."""
    raw = _read_json(pool, ["-j", "-G1", "-n", "-a"], path)
    _ensure_media(str(raw.get("File:FileType", "")), raw)
    return {k: v for k, v in raw.items() if k != "SourceFile"}


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

    try:
        return base64.b64decode(value.removeprefix("base64:"), validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class StripResult:
    """A verified strip: the file's facts, what stayed for a stated reason, and what became of
    the file's Content Credentials."""

    facts: FileFacts
    kept: tuple[str, ...] = ()
    content_credentials: CredentialsOutcome = CredentialsOutcome.NONE

    @property
    def mime_type(self) -> str:
        return self.facts.mime_type


def strip_metadata(
    pool: ExifToolPool, src: Path, dst: Path, plan: StripPlan = StripPlan()
) -> StripResult:
    """Write `src` without the metadata `plan` removes to `dst`, pixels untouched, and verify it.

    `safe` and `all` remove every metadata block (but what the caller keeps); `location` and
    `sensitive` remove, by name, the tags the privacy table puts in their categories. Raises
    VerificationFailed (nothing at `dst` to hand back) when the result still holds something
    the strip should have removed, after one stronger attempt.
    """
    facts = quick_facts(pool, src)
    if plan.preset in PRESET_REMOVES:
        return _strip_targeted(pool, src, dst, facts, plan)
    old_pdf = _pdf_texts(pool, src) if facts.file_type == "PDF" else []
    had_credentials = holds_credentials(pool, src, facts.file_type)
    args = _strip_args(facts, plan.preset)
    copied = [rule for rule in plan.keep if rule.group != CREDENTIALS_GROUP]
    if had_credentials and plan.keeps_credentials:
        # the manifest cannot be copied back like a tag: it is spared from `-all=` instead
        args.append(f"--{CREDENTIALS_GROUP}:all")
    if copied:
        # `-all=` takes no per-tag exceptions: the kept tags are copied back from the source
        args += ["-tagsfromfile", "@", *(f"-{rule.arg}" for rule in copied)]
    _write_file(pool, args, src, dst, facts)
    kept = verify_strip(pool, src, dst, facts, plan, old_pdf)
    outcome = _outcome(had_credentials, plan)
    if outcome is CredentialsOutcome.KEPT:
        kept = (*kept, _kept_note(dst, facts))
    return StripResult(facts, kept, outcome)


def _kept_note(dst: Path, facts: FileFacts) -> str:
    """What a kept manifest is worth now: it says so itself, validated again on the result (a
    strip that found nothing to remove may leave every byte it signed as it was)."""
    found = read_content_credentials(dst, facts.mime_type)
    invalid = found is None or found.validation == Validation.INVALID
    return CREDENTIALS_KEPT_NOTE if invalid else CREDENTIALS_UNTOUCHED_NOTE


def _outcome(had_credentials: bool, plan: StripPlan) -> CredentialsOutcome:
    if not had_credentials:
        return CredentialsOutcome.NONE
    return CredentialsOutcome.KEPT if plan.keeps_credentials else CredentialsOutcome.REMOVED


def holds_credentials(pool: ExifToolPool, path: Path, file_type: str) -> bool:
    """Whether the file carries a C2PA manifest.

    JPEG, PNG and WebP (most strips) are answered from their segment and chunk headers, with no
    ExifTool read; a header that names a JUMBF block, and every other format, take one.
    """
    if declares_manifest(path, file_type) is False:
        return False
    raw = _read_json(pool, ["-j", "-G", "-JUMBF:JUMDLabel"], path, strict=False)
    labels = raw.get("JUMBF:JUMDLabel")
    return has_manifest({CREDENTIALS_GROUP: {"JUMDLabel": labels}} if labels else {})


def _strip_targeted(
    pool: ExifToolPool, src: Path, dst: Path, facts: FileFacts, plan: StripPlan
) -> StripResult:
    source = read_tags(pool, src)
    doomed = [t for t in source if plan.removes(t.group0, t.group1, t.name)]
    had_credentials = any(t.group0 == CREDENTIALS_GROUP for t in source)
    if doomed:
        _write_file(pool, _deletions(doomed, facts), src, dst, facts)
    else:
        shutil.copyfile(src, dst)  # nothing of those categories: the file as it is
    for attempt in range(2):
        tags = read_tags(pool, dst)
        left = [t for t in tags if plan.removes(t.group0, t.group1, t.name)]
        if not left:
            break
        if attempt == 1:
            _refuse(dst, f"This {facts.file_type} file still holds {describe(left)}")
        log.info("strip left %s; deleting them by name", describe(left))
        _rewrite(pool, _deletions(left, facts), dst, facts)
    if facts.file_type == "PDF" and pdf.remaining(dst, [str(t.value) for t in doomed]):
        _refuse(dst, "This PDF still holds its earlier metadata")
    check_decodes(dst, facts.file_type, facts.mime_type, tags, source=src)
    outcome = _outcome(had_credentials, plan)
    kept = (_kept_note(dst, facts),) if outcome is CredentialsOutcome.KEPT else ()
    return StripResult(facts, kept, outcome)


def _strip_args(facts: FileFacts, preset: Preset) -> list[str]:
    args = ["-all="]
    if preset is Preset.SAFE:
        # `--icc_profile:all` spares the colour profile from `-all=`, and the orientation read
        # above is written back in the same pass: much cheaper than `-tagsfromfile @`, which
        # re-reads the whole file.
        args.append("--icc_profile:all")
        if facts.orientation and facts.orientation != 1:
            args.append(f"-EXIF:Orientation#={facts.orientation}")
    if facts.file_type in _TIFF_BASED:
        structure = _kept_structure(facts.file_type)
        args += [f"-IFD0:{tag}=" for tag in facts.ifd0_tags if tag not in structure]
        if preset is Preset.ALL:
            args.append("-IFD0:Orientation=")
    if facts.mime_type.startswith("video/") or facts.file_type in _QUICKTIME_MOVIES:
        # capture times live in the movie and track headers, which `-all=` cannot delete:
        # ExifTool zeroes them instead
        args.append("-QuickTime:Time:all=")
    return args


def _kept_structure(file_type: str) -> frozenset[str]:
    """Tag names a strip of this TIFF-based type never deletes: the image and its layout."""
    if file_type == "DNG":
        return TIFF_STRUCTURE | DNG_STRUCTURE
    return TIFF_STRUCTURE | (RAW_IDENTITY if file_type in RAW_TYPES else frozenset())


def _deletions(tags: Sequence[ReadTag], facts: FileFacts) -> list[str]:
    """`-Group:Tag=` for each leftover, sparing what holds the image in TIFF-based files.

    An embedded image shows in the engine's reads as its offset and length; it goes whole, by
    the name ExifTool writes it under (`-ThumbnailImage=`).
    """
    spare = _kept_structure(facts.file_type) if facts.file_type in _TIFF_BASED else frozenset()
    args: list[str] = []
    for tag in tags:
        if tag.group0 == "EXIF" and tag.name in spare:
            continue
        image = _EMBEDDED_BY_POINTER.get(tag.name)
        if tag.group0 == CREDENTIALS_GROUP:
            arg = f"-{CREDENTIALS_GROUP}:all="  # a manifest is deleted whole, never by tag
        elif image:
            arg = f"-{tag.group1}:{image}="
        else:
            arg = f"-{tag.place}="
        if arg not in args:
            args.append(arg)
    return args


# The tags that point at an embedded image, and the image ExifTool deletes by name.
_EMBEDDED_BY_POINTER = {
    f"{image}{part}": image
    for image, parts in (
        ("ThumbnailImage", ()),
        ("PreviewImage", ("Start", "Length")),
        ("JpgFromRaw", ("Start", "Length")),
        ("OtherImage", ("Start", "Length")),
    )
    for part in parts
} | {"ThumbnailOffset": "ThumbnailImage", "ThumbnailLength": "ThumbnailImage"}


def verify_strip(
    pool: ExifToolPool,
    src: Path,
    dst: Path,
    facts: FileFacts,
    plan: StripPlan,
    old_pdf: Sequence[str] = (),
) -> tuple[str, ...]:
    """Re-read a strip's output; one stronger attempt, then VerificationFailed if still dirty.

    Returns what stayed for a stated reason (a HEIF colour profile).
    """
    safe = plan.preset is Preset.SAFE
    tags = read_tags(pool, dst)
    check = check_strip(tags, facts.file_type, keep_icc=safe, keep_orientation=safe, keep=plan.keep)
    if check.leftovers:
        # the stronger path: name every leftover, which reaches places `-all=` leaves alone
        log.info("strip left %s; deleting them by name", describe(check.leftovers))
        _rewrite(pool, _deletions(check.leftovers, facts), dst, facts)
        tags = read_tags(pool, dst)
        check = check_strip(
            tags, facts.file_type, keep_icc=safe, keep_orientation=safe, keep=plan.keep
        )
        if check.leftovers:
            _refuse(dst, f"This {facts.file_type} file still holds {describe(check.leftovers)}")
    if old_pdf and pdf.remaining(dst, old_pdf):
        _refuse(dst, "This PDF still holds its earlier metadata")
    check_decodes(dst, facts.file_type, facts.mime_type, tags, source=src)
    return check.kept


def _refuse(dst: Path, problem: str) -> NoReturn:
    """Drop the output that failed its check and say why; the caller's charge is refunded."""
    dst.unlink(missing_ok=True)
    raise VerificationFailed(f"{problem}; it was not returned and nothing was charged.")


def write_tags(
    pool: ExifToolPool,
    src: Path,
    dst: Path,
    tags: Sequence[WriteTag],
    *,
    overwrite: bool = False,
    position: tuple[float, float] | None = None,
    facts: FileFacts | None = None,
) -> WriteResult:
    """Write tags to a copy of `src` at `dst` and verify they read back, leaving no old value.

    `overwrite` clears existing metadata first (colour profile kept). `position` marks a
    geotag: every coordinate the file holds is removed before the new ones are written, and
    afterwards no coordinate may read anything but the new position. A C2PA manifest is
    removed: the edit changes what it signed, and it would no longer hold.
    """
    facts = facts or quick_facts(pool, src)
    before = read_tags(pool, src)
    credentials = any(t.group0 == CREDENTIALS_GROUP for t in before)
    args: list[str] = []
    if credentials:
        args.append(f"-{CREDENTIALS_GROUP}:all=")
    if overwrite:
        args += ["-all=", "--icc_profile:all"]
    if position is not None:
        args += ["-GPS:all=", "-XMP:*GPS*=", "-QuickTime:*GPS*="]
    tags = _merge_joined(tags, before)
    for item in tags:
        args += _tag_args(item, before)
    result = _write_file(pool, args, src, dst, facts)
    _refuse_tag_warnings(result.stderr, tags)
    _verify_write(pool, src, dst, facts, before, _expected(tags), overwrite, position)
    outcome = CredentialsOutcome.REMOVED if credentials else CredentialsOutcome.NONE
    return WriteResult(facts, outcome)


@dataclass(frozen=True)
class WriteResult:
    """A verified write: the file's facts and what became of its Content Credentials."""

    facts: FileFacts
    content_credentials: CredentialsOutcome = CredentialsOutcome.NONE


def _tag_args(item: WriteTag, before: Sequence[ReadTag]) -> list[str]:
    arg = item.tag.arg
    if item.value is None:
        return [f"-{arg}="]
    value = check_value(arg, item.value)
    numeric = "#" if item.numeric else ""
    if item.op is ListOp.REMOVE:
        return [f"-{arg}{numeric}-={value}"]
    if item.op is ListOp.ADD and not item.joined:
        if _holds_item(before, item):
            return []  # re-adding would move the item to the end of the list
        # ExifTool's idiom for adding without a duplicate: delete the value, then add it
        return [f"-{arg}{numeric}-={value}", f"-{arg}{numeric}+={value}"]
    return [f"-{arg}{numeric}={value}"]


def _holds_item(before: Sequence[ReadTag], item: WriteTag) -> bool:
    """Whether every place of the tag already holds the item (and there is such a place)."""
    places = [t for t in before if matches(t, item.tag.group, item.tag.name)]
    wanted = (item.value or "").casefold()
    return bool(places) and all(
        any(str(v).casefold() == wanted for v in _items(t.value)) for t in places
    )


def _merge_joined(tags: Sequence[WriteTag], before: Sequence[ReadTag]) -> list[WriteTag]:
    """Added words of a comma-separated list (a movie's or PDF's keywords) merged into the words
    the place holds already, as one text to set; every other tag as it was."""
    added: dict[str, list[WriteTag]] = {}
    for item in tags:
        if item.op is ListOp.ADD and item.joined:
            added.setdefault(item.tag.arg.lower(), []).append(item)
    out: list[WriteTag] = []
    for item in tags:
        if item.op is not ListOp.ADD or not item.joined:
            out.append(item)
            continue
        words = added.pop(item.tag.arg.lower(), None)
        if words:  # None: merged with the tag's first word already
            place = next((t for t in before if matches(t, item.tag.group, item.tag.name)), None)
            old = split_words([str(v) for v in _items(place.value)]) if place else []
            new = merge_words(old, [w.value or "" for w in words])
            out.append(WriteTag(item.tag, ", ".join(new), op=ListOp.ADD, joined=True))
    return out


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _expected(tags: Sequence[WriteTag]) -> list[Expected]:
    grouped: dict[tuple[str, ListOp], Expected] = {}
    for item in tags:
        key = (item.tag.arg.lower(), item.op)
        prev = grouped.get(key)
        # a merged text must hold every word it was given, whatever the place did to spacing
        new = split_words([item.value]) if item.joined and item.value else [item.value]
        values = (prev.values if prev else ()) + tuple(v for v in new if v is not None)
        grouped[key] = Expected(item.tag.group, item.tag.name, values, item.numeric, item.op)
    return list(grouped.values())


def _verify_write(
    pool: ExifToolPool,
    src: Path,
    dst: Path,
    facts: FileFacts,
    before: Sequence[ReadTag],
    expected: Sequence[Expected],
    overwrite: bool,
    position: tuple[float, float] | None,
) -> None:
    written = [f"{e.group}:{e.name}" if e.group else e.name for e in expected]
    for attempt in range(2):
        after = read_tags(pool, dst)
        wants_numbers = position is not None or any(e.numeric for e in expected)
        numeric = read_tags(pool, dst, numeric=True) if wants_numbers else []
        stale = stale_places(before, after, expected)
        if position is not None:
            stale += [t for t in stale_positions(numeric, *position) if t not in stale]
        # a manifest must not survive an edit it no longer matches
        leftovers: tuple[ReadTag, ...] = tuple(t for t in after if t.group0 == CREDENTIALS_GROUP)
        if overwrite:
            leftovers += check_strip(
                [t for t in after if t.name not in BOOKKEEPING and t not in leftovers],
                facts.file_type,
                keep_icc=True,
                keep_orientation=False,
                written=written,
            ).leftovers
        missing = _missing(pool, dst, after, numeric, expected)
        if not (stale or leftovers or missing):
            break
        if attempt == 1:
            _refuse(dst, _write_failure(facts, missing, [*stale, *leftovers]))
        # the stronger path: each stale place gets the new value (or goes), by name
        log.info("write left %s; fixing them by name", describe([*stale, *leftovers]))
        _rewrite(pool, _repair_args(stale, leftovers, expected, facts), dst, facts)
    if facts.file_type == "PDF" and pdf.remaining(dst, replaced_values(before, expected)):
        _refuse(dst, "This PDF's earlier revision still holds the old values")
    check_decodes(dst, facts.file_type, facts.mime_type, after, source=src)


def _missing(
    pool: ExifToolPool,
    dst: Path,
    printed: Sequence[ReadTag],
    numeric: Sequence[ReadTag],
    expected: Sequence[Expected],
) -> list[str]:
    """Requested tags that read back as asked neither printed nor as numbers (`S`, `South`)."""
    unsure = [e for e in expected if not e.numeric and missing_writes(printed, [e])]
    if unsure and not numeric:
        numeric = read_tags(pool, dst, numeric=True)
    return missing_writes(numeric, [e for e in expected if e.numeric]) + missing_writes(
        numeric, unsure
    )


def _repair_args(
    stale: Sequence[ReadTag],
    leftovers: Sequence[ReadTag],
    expected: Sequence[Expected],
    facts: FileFacts,
) -> list[str]:
    args = _deletions(leftovers, facts)
    for tag in stale:
        removed = [
            v
            for e in expected
            if e.op is ListOp.REMOVE and in_field(tag, same_field(e.name))
            for v in e.values
        ]
        if removed:
            # a removed item left in another place of the field: take out that item only
            args += [f"-{tag.place}-={check_value(tag.place, v)}" for v in removed]
            continue
        args.append(f"-{tag.place}=")
        setting = [e for e in expected if e.op is ListOp.SET]
        source = next((e for e in setting if tag.name.lower() in same_field(e.name)), None)
        if source is not None and "GPS" not in tag.name:
            args += [f"-{tag.place}={check_value(tag.place, v)}" for v in source.values]
    return args


def _write_failure(facts: FileFacts, missing: Sequence[str], stale: Sequence[ReadTag]) -> str:
    parts = []
    if missing:
        parts.append(f"{', '.join(missing)} could not be written")
    if stale:
        parts.append(f"{describe(stale)} still hold the old value")
    return f"In this {facts.file_type} file {' and '.join(parts)}"


def _pdf_texts(pool: ExifToolPool, path: Path) -> list[str]:
    """The text values of a PDF's Info dictionary and XMP, to look for after a strip."""
    values: list[str] = []
    for tag in read_tags(pool, path):
        if tag.group0 in ("PDF", "XMP") and tag.name not in _PDF_STRUCTURE_NAMES:
            values += [str(v) for v in (tag.value if isinstance(tag.value, list) else [tag.value])]
    return values


_PDF_STRUCTURE_NAMES = frozenset({"PDFVersion", "Linearized", "PageCount", "XMPToolkit"})


# ExifTool still writes the other tags when one is unknown, unwritable or has a bad value; it
# only warns, so the warnings are turned into an error naming the caller's tag.
_UNKNOWN_TAG = re.compile(r"Tag '[^']*' is not defined|doesn't exist or isn't writable")
_NOT_WRITABLE = re.compile(r"is not writable")
_NOT_A_LIST = re.compile(r"Shift value for .* is not a number")


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
            if _NOT_A_LIST.search(line):
                # `+=` on a text tag that is no list here (a PDF's Creator is not XMP's)
                raise BadRequest(f"{item.tag.arg} is not a list tag in this file.")
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
    except RecursionError as exc:
        # XMP structures nested past the decoder's depth (the upload paths' pre-scan refuses
        # them first; a file read without it must still get a clear answer)
        raise FileTooComplex(
            "This file's XMP metadata is nested too deeply to read safely."
        ) from exc
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


def _write_file(
    pool: ExifToolPool, args: list[str], src: Path, dst: Path, facts: FileFacts
) -> ExifToolResult:
    """`_write`, then for PDFs one more save that drops the revisions ExifTool appended to."""
    try:
        result = _write(pool, args, src, dst)
    except UnsupportedFile as exc:
        if exc.message.startswith("This file type cannot be written"):
            raise UnsupportedFile(
                f"{facts.file_type} files cannot be written: metadata can only be read."
            ) from exc
        raise
    if facts.file_type == "PDF":
        pdf.rewrite(dst)
    return result


def _rewrite(pool: ExifToolPool, args: list[str], path: Path, facts: FileFacts) -> None:
    """Apply `args` to `path` in place (through a sibling file, as ExifTool writes copies)."""
    tmp = path.with_name(f"again.{path.name}")
    _write_file(pool, args, path, tmp, facts)
    tmp.replace(path)
