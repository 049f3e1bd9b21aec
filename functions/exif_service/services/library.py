"""The media library (ImageKit surface): upload, list, details, delete, metadata, pHash search.

Files live in S3 under `library/` until their owner deletes them (no 24-hour rule here). Every
lookup is scoped to the owner: another user's file id is simply not found.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest, NotFound, ServiceUnavailable
from exif_service.domain.library import LibraryEntry, MediaReading
from exif_service.domain.phash import is_phash, phash_distance
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import read_exif_block, read_numeric_tags
from exif_service.engine.pixels import inspect_image, stored_exif_from_block
from exif_service.engine.prescan import check_file
from exif_service.engine.workspace import safe_extension, workspace
from exif_service.services.quota import Charge, charge_account
from exif_service.services.sources import LocalFile, Source, display_name, materialize
from exif_service.settings import get_settings
from exif_service.store import library as store
from exif_service.store.blobs import Blobs

MAX_LIST = 1000
# uploads of one name racing: each retry follows a write that did land, so this is plenty
_REPLACE_TRIES = 5
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_FOLDER_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_FILE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
# the path of a library file's `url`, possibly behind an API Gateway stage prefix
_CONTENT_PATH = re.compile(r"(?:^|/)v1/files/([A-Za-z0-9]{1,64})/content/?$")


@dataclass(frozen=True)
class UploadOptions:
    file_name: str
    folder: str = "/"
    tags: tuple[str, ...] = ()
    unique_name: bool = True


def read_media(pool: ExifToolPool, path: Path, size: int) -> MediaReading:
    """Run ExifTool and (for pictures Pillow decodes) the pixel inspection on one file."""
    tags = read_numeric_tags(pool, path)
    pixels = inspect_image(path, get_settings().max_image_pixels)
    stored = pixels.stored_exif if pixels else {}
    if not stored and any(t.group0 == "EXIF" for t in tags):
        # a format Pillow does not decode (HEIC, RAW, ...): ExifTool hands over the raw block
        block = read_exif_block(pool, path)
        stored = stored_exif_from_block(block) if block else {}
    return MediaReading(tags=tuple(tags), pixels=pixels, size=size, stored_exif=stored)


def upload_source(
    pool: ExifToolPool, source: Source, owner: Account, options: UploadOptions, blobs: Blobs
) -> tuple[LibraryEntry, MediaReading]:
    """Charge one image and keep the caller's file (upload or URL) in their library."""
    with charge_account(owner) as charged, materialize(source) as local:
        return upload_file(pool, local, owner.user_id, options, blobs, charged)


def upload_file(
    pool: ExifToolPool,
    local: LocalFile,
    owner_id: str,
    options: UploadOptions,
    blobs: Blobs,
    charged: Charge,
) -> tuple[LibraryEntry, MediaReading]:
    """Read the file, keep it in the owner's library, and return its record and reading.

    The read runs while `charged` is still on its way; the stored copy waits for it.
    """
    reading = read_media(pool, local.path, local.size)
    name = library_name(options.file_name, unique=options.unique_name)
    folder = normalise_folder(options.folder)
    file_path = f"{folder}{name}"
    now = datetime.now(UTC)
    previous = None if options.unique_name else _by_path(owner_id, file_path)
    if previous is not None:
        file_id = previous.file_id
    elif options.unique_name:
        file_id = secrets.token_hex(12)
    else:
        # one id per owner and path, so two uploads of one new name meet on one item
        file_id = _path_id(owner_id, file_path)
    width, height = reading.dimensions
    entry = LibraryEntry(
        file_id=file_id,
        user_id=owner_id,
        name=name,
        file_path=file_path,
        folder=folder,
        tags=options.tags,
        s3_key=f"library/{owner_id}/{file_id}/{secrets.token_hex(8)}.{safe_extension(name)}",
        size=local.size,
        width=width,
        height=height,
        file_type="image" if reading.is_image else "non-image",
        mime=reading.mime,
        phash=reading.pixels.phash if reading.pixels else None,
        url_token=secrets.token_urlsafe(18),
        created_at=previous.created_at if previous else now,
        updated_at=now,
    )
    charged.confirm()
    blobs.put_file(entry.s3_key, local.path, entry.mime)
    try:
        replaced = _put_replacing(entry, previous)
    except BaseException:
        blobs.delete(entry.s3_key)  # no object without a record pointing at it
        raise
    if replaced is not None:
        blobs.delete(replaced)
    return entry, reading


def list_files(
    owner_id: str,
    *,
    path: str | None = None,
    file_type: str = "all",
    skip: int = 0,
    limit: int = MAX_LIST,
) -> list[LibraryEntry]:
    """The owner's files, oldest first; `path` keeps one folder, `file_type` image/non-image."""
    if skip < 0 or not 1 <= limit <= MAX_LIST:
        raise BadRequest(f"skip must be 0 or more and limit between 1 and {MAX_LIST}.")
    if file_type not in ("all", "image", "non-image"):
        raise BadRequest("fileType must be all, image or non-image.")
    folder = normalise_folder(path) if path else None
    found: list[LibraryEntry] = []
    for entry in store.user_entries(owner_id):
        if folder is not None and entry.folder != folder:
            continue
        if file_type != "all" and entry.file_type != file_type:
            continue
        found.append(entry)
    return found[skip : skip + limit]


def file_details(owner_id: str, file_id: str) -> LibraryEntry:
    """One of the owner's files; NotFound for an unknown id or another user's file."""
    entry = store.get_entry(file_id) if _FILE_ID.match(file_id or "") else None
    if entry is None or entry.user_id != owner_id:
        raise NotFound("The requested file does not exist.")
    return entry


def delete_file(owner_id: str, file_id: str, blobs: Blobs) -> None:
    """Delete one of the owner's files: its record, then the object it pointed at.

    The record is deleted only while it still points at the object read, so an upload that
    replaces the file meanwhile cannot leave its new object behind with no record.
    """
    for _ in range(_REPLACE_TRIES):
        entry = file_details(owner_id, file_id)
        if store.delete_entry_of(entry.file_id, entry.s3_key):
            blobs.delete(entry.s3_key)
            return
    raise ServiceUnavailable("The library is busy with this file. Try again in a moment.")


def shared_file(file_id: str, owner_id: str | None, token: str | None) -> LibraryEntry:
    """A file for its content URL: the owner's key, or the random token in its `url`."""
    entry = store.get_entry(file_id) if _FILE_ID.match(file_id or "") else None
    if entry is not None:
        if owner_id is not None and entry.user_id == owner_id:
            return entry
        if token and entry.url_token and hmac.compare_digest(token, entry.url_token):
            return entry
    raise NotFound("The requested file does not exist.")


def library_file_metadata(
    pool: ExifToolPool, owner_id: str, file_id: str, blobs: Blobs
) -> MediaReading:
    entry = file_details(owner_id, file_id)
    with _stored_copy(entry, blobs) as local:
        return read_media(pool, local.path, local.size)


def url_metadata(pool: ExifToolPool, owner_id: str, url: str, blobs: Blobs) -> MediaReading:
    """Metadata of a URL: one of the owner's library files is read from the store, anything
    else is downloaded through the SSRF-safe fetcher."""
    own = own_library_file(owner_id, url)
    if own is not None:
        with _stored_copy(own, blobs) as local:
            return read_media(pool, local.path, local.size)
    with materialize(Source(url=url)) as local:
        return read_media(pool, local.path, local.size)


def own_library_file(owner_id: str, url: str) -> LibraryEntry | None:
    """The owner's library file that `url` points at, if it is one."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    match = _CONTENT_PATH.search(path)
    if match is None:
        return None
    entry = store.get_entry(match.group(1))
    return entry if entry is not None and entry.user_id == owner_id else None


def resolve_phash(owner_id: str, ref: str) -> str:
    """A pHash given as 16 hex digits, or the pHash of one of the owner's files."""
    if is_phash(ref):
        return ref.lower()
    entry = file_details(owner_id, ref)
    if not entry.phash:
        raise BadRequest("That file has no pHash: it is not a picture.")
    return entry.phash


def distance_between(owner_id: str, a: str, b: str) -> tuple[str, str, int]:
    hash_a, hash_b = resolve_phash(owner_id, a), resolve_phash(owner_id, b)
    return hash_a, hash_b, phash_distance(hash_a, hash_b)


def similar_files(owner_id: str, file_id: str, max_distance: int) -> list[tuple[LibraryEntry, int]]:
    """The owner's other pictures within `max_distance` of this one's pHash, nearest first."""
    if not 0 <= max_distance <= 64:
        raise BadRequest("maxDistance must be between 0 and 64.")
    origin = resolve_phash(owner_id, file_id)
    near: list[tuple[LibraryEntry, int]] = []
    for entry in store.user_entries(owner_id):
        if entry.file_id == file_id or not entry.phash:
            continue
        distance = phash_distance(origin, entry.phash)
        if distance <= max_distance:
            near.append((entry, distance))
    near.sort(key=lambda pair: (pair[1], pair[0].created_at))
    return near


def library_name(file_name: str, *, unique: bool) -> str:
    """The stored name: letters, digits, `.`, `-`, `_`; with a random suffix when unique."""
    base = _NAME_UNSAFE.sub("_", display_name(file_name, default="file"))
    if not unique:
        return base[:200]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        stem, ext = base, ""
    suffix = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    return f"{stem[:180]}_{suffix}{'.' + ext if ext else ''}"


def normalise_folder(folder: str | None) -> str:
    """`"/a/b/"` from whatever the caller wrote (`a/b`, `/a//b`, ...); `"/"` for the root."""
    parts = [p for p in (folder or "").replace("\\", "/").split("/") if p not in ("", ".", "..")]
    clean = [_FOLDER_UNSAFE.sub("_", p)[:100] for p in parts][:20]
    return "/" + "".join(f"{p}/" for p in clean)


@contextmanager
def _stored_copy(entry: LibraryEntry, blobs: Blobs) -> Iterator[LocalFile]:
    with workspace() as workdir:
        path = workdir / f"input.{safe_extension(entry.name)}"
        blobs.download_to(entry.s3_key, path)
        # checked when it was uploaded, unless it was kept before that check existed
        check_file(path)
        yield LocalFile(path=path, file_name=entry.name, size=path.stat().st_size)


def _path_id(owner_id: str, file_path: str) -> str:
    return hashlib.sha256(f"{owner_id}\n{file_path}".encode()).hexdigest()[:24]


def _put_replacing(entry: LibraryEntry, previous: LibraryEntry | None) -> str | None:
    """Write `entry` over `previous` (or as new); the S3 key it replaced, if any.

    Uploads racing on one name are serialised by a condition on the object the record points
    at: a write that finds another one landed first re-reads and replaces that one, so the
    last write wins and every replaced object is deleted by the write that replaced it.
    """
    for _ in range(_REPLACE_TRIES):
        if store.put_entry(entry, previous.s3_key if previous else None):
            return previous.s3_key if previous is not None else None
        previous = store.get_entry(entry.file_id)
        if previous is not None:
            entry = replace(entry, created_at=previous.created_at)
    raise ServiceUnavailable("The library is busy with this file name. Try again in a moment.")


def _by_path(owner_id: str, file_path: str) -> LibraryEntry | None:
    for entry in store.user_entries(owner_id):
        if entry.file_path == file_path:
            return entry
    return None
