"""The image tools: view, write and strip metadata, one file or a batch, charged and kept.

Each tool is an operation from the caller's file (in its private workspace) to an output file;
`process_one` and `process_bulk` wrap an operation with the plan charge (refunded if anything
fails), the size limit, and keeping the result in the owner's history.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from exif_service.domain.accounts import Account, Plan
from exif_service.domain.errors import (
    BadRequest,
    FileTooLarge,
    PlanRequired,
    Unprocessable,
    UnsupportedFile,
)
from exif_service.domain.fields import (
    MAX_BULK_FILES,
    Assignment,
    EditMode,
    GeoPoint,
    appended,
    container_for,
    fit,
    signed_gps,
)
from exif_service.domain.lists import ListOp
from exif_service.domain.privacy import StripPlan
from exif_service.domain.report import MetadataReport
from exif_service.domain.tags import TagName
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import (
    WriteTag,
    quick_facts,
    read_metadata,
    read_numeric,
    strip_metadata,
    write_tags,
)
from exif_service.engine.workspace import safe_extension, workspace
from exif_service.services.history import keep_result
from exif_service.services.privacy import PrivacyReport, privacy_report
from exif_service.services.quota import charge, charge_account
from exif_service.services.sources import LocalFile, Source, display_name, materialize
from exif_service.store.blobs import Blobs


@dataclass(frozen=True)
class Output:
    """An operation's result file in the workspace."""

    path: Path
    content_type: str
    kept: tuple[str, ...] = ()  # what stayed for a stated reason (see engine/verify.py)
    content_credentials: str = "none"  # what became of a C2PA manifest: removed, kept, none


Operation = Callable[[LocalFile], Output]


@dataclass(frozen=True)
class Download:
    """A processed file for the response body."""

    data: bytes
    file_name: str
    content_type: str
    file_id: str
    s3_key: str
    kept: tuple[str, ...] = ()
    content_credentials: str = "none"


@dataclass(frozen=True)
class Viewed:
    """What the public viewer shows of one file."""

    report: MetadataReport
    gps: GeoPoint | None
    privacy: PrivacyReport | None = None


def view_metadata(
    pool: ExifToolPool,
    source: Source,
    subject: str,
    limit: int,
    *,
    structures: bool = False,
    privacy: bool = False,
) -> Viewed:
    """The file's report (with its XMP structures if asked), position and, if asked, privacy
    report, all from one download or upload charged once to `subject`."""
    with charge(subject, limit), materialize(source) as local:
        report = read_metadata(pool, local.path, file_name=local.file_name, structures=structures)
        gps = signed_gps(read_numeric(pool, local.path))
        return Viewed(report, gps, privacy_report(pool, local) if privacy else None)


def strip_operation(pool: ExifToolPool, plan: StripPlan = StripPlan()) -> Operation:
    """What `plan` removes (by default everything but colour profile and orientation), verified."""

    def run(local: LocalFile) -> Output:
        dst = _output_path(local)
        result = strip_metadata(pool, local.path, dst, plan)
        return Output(dst, result.mime_type, result.kept, result.content_credentials.value)

    return run


def write_operation(
    pool: ExifToolPool,
    assignments: Sequence[Assignment],
    mode: EditMode,
    position: GeoPoint | None = None,
) -> Operation:
    """An operation writing `assignments` where the file's format keeps them, then verified.

    Overwrite mode clears the metadata first; append mode adds to list tags (see `appended`);
    a `position` replaces every coordinate the file holds.
    """

    def run(local: LocalFile) -> Output:
        facts = quick_facts(pool, local.path)
        fitted = fit(list(assignments), container_for(facts.file_type))
        if mode is EditMode.APPEND:
            fitted = [appended(a) for a in fitted]
        tags = _write_tags(fitted)
        dst = _output_path(local)
        written = write_tags(
            pool,
            local.path,
            dst,
            tags,
            overwrite=mode is EditMode.OVERWRITE,
            position=(position.lat, position.lng) if position else None,
            facts=facts,
        )
        return Output(dst, facts.mime_type, content_credentials=written.content_credentials.value)

    return run


def _write_tags(assignments: Sequence[Assignment]) -> list[WriteTag]:
    tags: list[WriteTag] = []
    for item in assignments:
        if item.op is ListOp.ADD:
            tags += [
                WriteTag(item.tag, value, item.numeric, ListOp.ADD, item.joined)
                for value in item.values
            ]
            tags += [WriteTag(item.tag, value, op=ListOp.REMOVE) for value in item.removed]
        elif not item.values:
            tags.append(WriteTag(item.tag, None))
        elif item.joined:
            tags.append(WriteTag(item.tag, ", ".join(item.values)))
        else:
            tags += [WriteTag(item.tag, value, item.numeric) for value in item.values]
    if any((a.tag.group or "").upper().startswith("IPTC") for a in assignments):
        # without it, IPTC IIM text is stored as Latin-1 and other characters are lost
        tags.append(WriteTag(TagName("IPTC", "CodedCharacterSet"), "UTF8"))
    return tags


def _output_path(local: LocalFile) -> Path:
    return local.workdir / f"output.{safe_extension(local.file_name)}"


def download_name(original: str, requested: str | None) -> str:
    """The caller's file name, or `webFileName` (given the original extension if it has none)."""
    if not (requested or "").strip():
        return original
    name = display_name(requested, default=original)
    if name in {".", ".."}:
        return original
    if "." not in name.strip(".") and "." in original:
        name = f"{name}.{original.rsplit('.', 1)[-1]}"
    return name


def process_one(
    account: Account,
    tool: str,
    source: Source,
    operation: Operation,
    blobs: Blobs,
    web_file_name: str | None = None,
) -> Download:
    """Charge one image, run `operation`, keep the result, and return it for download."""
    with charge_account(account) as charged, materialize(source) as local:
        output = operation(local)
        name = download_name(local.file_name, web_file_name)
        charged.confirm()  # the operation ran beside the charge; the history waits for it
        kept = keep_result(account, tool, name, output.path, output.content_type, blobs)
        data = output.path.read_bytes()
        return Download(
            data,
            name,
            output.content_type,
            kept.file_id,
            kept.s3_key,
            output.kept,
            output.content_credentials,
        )


def require_bulk(account: Account, count: int) -> None:
    """Batches are a Pro feature of at most MAX_BULK_FILES files."""
    if account.plan is not Plan.PRO:
        raise PlanRequired("Bulk processing requires the Pro plan.")
    if count == 0:
        raise BadRequest("Provide at least one file (multipart field 'files').")
    if count > MAX_BULK_FILES:
        raise BadRequest(f"Too many files: at most {MAX_BULK_FILES} per request.")


def process_bulk(
    account: Account, tool: str, sources: Sequence[Source], operation: Operation, blobs: Blobs
) -> IO[bytes]:
    """Run `operation` on every file and return a ZIP (an open temp file, read from the start).

    All or nothing: every file is charged up front, and if one fails the request fails naming
    it, nothing is kept and every unit is given back.
    """
    require_bulk(account, len(sources))
    with charge_account(account, units=len(sources)) as charged, workspace() as outdir:
        results: list[tuple[str, Output]] = []
        for index, source in enumerate(sources):
            name = display_name(source.file_name)
            with _named(name), materialize(source) as local:
                output = operation(local)
                kept = outdir / f"{index}.{safe_extension(name)}"
                shutil.move(output.path, kept)
                results.append((local.file_name, Output(kept, output.content_type)))
        charged.confirm()  # the files ran beside the charge; the history waits for it
        for name, output in results:
            keep_result(account, tool, name, output.path, output.content_type, blobs)
        # the ZIP is named from the caller's whole names, cut by bytes with the extension kept
        given = [s.file_name or name for s, (name, _) in zip(sources, results, strict=True)]
        return _zip(unique_names(given), [output for _, output in results])


@contextmanager
def _named(name: str) -> Iterator[None]:
    """Put the file's name in front of whatever the caller did wrong with it."""
    try:
        yield
    except UnsupportedFile as exc:
        raise UnsupportedFile(f"{name}: {exc.message}") from exc
    except FileTooLarge as exc:
        raise FileTooLarge(f"{name}: {exc.message}") from exc
    except BadRequest as exc:
        raise BadRequest(f"{name}: {exc.message}") from exc
    except Unprocessable as exc:
        raise type(exc)(f"{name}: {exc.message}") from exc


def _zip(members: Sequence[str], outputs: Sequence[Output]) -> IO[bytes]:
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response that streams it
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for member, output in zip(members, outputs, strict=True):
            zf.write(output.path, member)
    archive.seek(0)
    return archive


_UNSAFE_MEMBER = re.compile(r'[\x00-\x1f<>:"|?*\\/]')


# File systems cap a name at 255 bytes; unzip refuses longer members ("File name too long").
_MAX_MEMBER_BYTES = 255
_MAX_EXTENSION_BYTES = 16  # longer "extensions" are part of the name, cut like the rest


def archive_member(name: str) -> str:
    """A ZIP member name that stays in the folder it is extracted to (NFC, no separators)."""
    # uncut: unique_names cuts by bytes and keeps the extension
    base = unicodedata.normalize("NFC", display_name(name, max_chars=None))
    base = _UNSAFE_MEMBER.sub("_", base).strip().lstrip(".").rstrip(". ")
    return base or "file"


def unique_names(names: Sequence[str]) -> list[str]:
    """Safe member names of at most 255 bytes that keep their extension; a repeated name
    becomes `photo (1).jpg`, `photo (2).jpg`, ...

    Names count as the same when they differ only in case or in trailing dots and spaces, as
    macOS and Windows would merge them on extraction; the number is added before cutting, so
    it always survives.
    """
    taken: set[str] = set()
    out: list[str] = []
    for raw in names:
        stem, ext = _split_extension(archive_member(raw))
        n = 0
        while True:
            candidate = _fit(stem, f" ({n})" if n else "", ext)
            key = candidate.casefold().rstrip(". ")
            if key not in taken:
                break
            n += 1
        taken.add(key)
        out.append(candidate)
    return out


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(f".{ext}".encode()) > _MAX_EXTENSION_BYTES:
        return name, ""
    return stem, f".{ext}"


def _fit(stem: str, suffix: str, ext: str) -> str:
    """`stem + suffix + ext`, the stem cut (by whole characters) to fit in 255 bytes."""
    room = _MAX_MEMBER_BYTES - len(suffix.encode()) - len(ext.encode())
    cut = stem
    while len(cut.encode()) > room:
        cut = cut[:-1]
    cut = cut.rstrip(". ") or "file"
    return f"{cut}{suffix}{ext}"


def park_archive(archive: IO[bytes], blobs: Blobs) -> str:
    """Put a batch's ZIP under `results/` (for a redirect when it is too big for a response)."""
    key = f"results/archives/{uuid.uuid4().hex}.zip"
    try:
        blobs.put_bytes(key, archive.read(), "application/zip")
    finally:
        archive.close()
    return key


def iter_file(fh: IO[bytes], chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """Stream an open file and close it at the end."""
    try:
        while chunk := fh.read(chunk_size):
            yield chunk
    finally:
        fh.close()
