"""Reading Content Credentials with the C2PA reference library, and places with ExifTool.

Both run only when there is something to find: the manifest only when ExifTool's read of the
file already showed a C2PA JUMBF box (so ordinary files pay nothing), the place only when a
caller asks for it (or the privacy report has a position to name).

The library validates offline: remote manifests and certificate revocation (OCSP) are never
fetched, so a file cannot make the server call an address of its choosing. It is imported on
first use: on Lambda it comes with the ExifTool layer, which only the engine's functions carry.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO

from exif_service.domain.provenance import (
    UNREADABLE,
    ContentCredentials,
    Place,
    content_credentials,
    place_of,
    valid_position,
)
from exif_service.engine.exiftool import ExifToolPool
from exif_service.settings import get_settings

log = logging.getLogger(__name__)

_OFFLINE: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
_contexts: dict[str | None, Any] = {}  # c2pa.Context by trust list
_lock = threading.Lock()


def _context(trust_anchors: str | None) -> Any:
    """One library context per trust list, built once (settings parsing is not free)."""
    import c2pa

    with _lock:
        context = _contexts.get(trust_anchors)
        if context is None:
            settings: dict[str, Any] = dict(_OFFLINE)
            if trust_anchors:
                settings["trust"] = {"trust_anchors": trust_anchors}
            context = c2pa.Context.from_dict(settings)
            _contexts[trust_anchors] = context
        return context


_anchors: dict[Path, str] = {}


def configured_trust_anchors() -> str | None:
    """The PEM roots the deployment trusts (`c2pa_trust_anchors`), read once per path."""
    path = get_settings().c2pa_trust_anchors
    if path is None:
        return None
    if path not in _anchors:
        _anchors[path] = path.read_text(encoding="ascii")
    return _anchors[path]


def read_content_credentials(
    path: Path, mime_type: str, *, trust_anchors: str | None = None
) -> ContentCredentials | None:
    """The file's active manifest, validated; None when there is none to read.

    `trust_anchors` (PEM) are the root certificates whose signers count as trusted, by default
    the deployment's (`c2pa_trust_anchors`); without any, an intact manifest is `untrusted`.
    A manifest the library cannot parse is reported as `invalid` rather than failing the read:
    the rest of the report is still worth having.
    """
    import c2pa

    try:
        with path.open("rb") as stream:
            context = _context(trust_anchors or configured_trust_anchors())
            reader = c2pa.Reader(mime_type, stream, context=context)
            try:
                store = json.loads(reader.json())
            finally:
                reader.close()
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__:
            return None
        log.info("content credentials unreadable: %s", type(exc).__name__)
        return UNREADABLE
    except (OSError, ValueError) as exc:
        log.info("content credentials unreadable: %s", type(exc).__name__)
        return UNREADABLE
    return content_credentials(store) if isinstance(store, dict) else UNREADABLE


def reverse_geocode(pool: ExifToolPool, lat: float, lng: float) -> Place | None:
    """The nearest city to a position from ExifTool's own database (offline, no file needed).

    The database ships with ExifTool, so a position's answer never changes within a process:
    answers are kept (a request that both names the place and reports on privacy asks once).
    """
    if not valid_position(lat, lng):
        return None
    key = (f"{lat:.6f}", f"{lng:.6f}")
    with _places_lock:
        if key in _places:
            return _places[key]
    place = _geocode(pool, *key)
    with _places_lock:
        if len(_places) >= _PLACES_KEPT:
            _places.pop(next(iter(_places)))  # the oldest answer makes room
        _places[key] = place
    return place


_PLACES_KEPT = 1024
_places: dict[tuple[str, str], Place | None] = {}
_places_lock = threading.Lock()


def _geocode(pool: ExifToolPool, lat: str, lng: str) -> Place | None:
    result = pool.run(["-j", "-n", "-api", f"geolocation={lat},{lng}"])
    try:
        records = json.loads(result.stdout) if result.stdout.strip() else []
    except json.JSONDecodeError:
        return None
    if not records or not isinstance(records[0], dict):
        return None
    return place_of(records[0])


def declares_manifest(path: Path, file_type: str) -> bool | None:
    """Whether a JPEG, PNG or WebP holds a JUMBF block, from its headers alone (no pixels read);
    None for other formats, or a header this walk cannot follow: ExifTool decides those."""
    walk = _WALKS.get(file_type)
    if walk is None:
        return None
    try:
        with path.open("rb") as handle:
            return walk(handle)
    except (OSError, struct.error, ValueError):
        return None


def _jpeg(handle: BinaryIO) -> bool | None:
    """APP11 segments holding a JUMBF box (`JP` + box header), until the image data starts."""
    if handle.read(2) != b"\xff\xd8":
        return None
    while True:
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] in (0xDA, 0xD9):  # start of scan, end of image: no metadata follows
            return False
        if marker[1] == 0xFF:  # a fill byte: the marker starts one byte on
            handle.seek(-1, 1)
            continue
        if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:  # markers without a length
            continue
        (length,) = struct.unpack(">H", handle.read(2))
        if length < 2:
            return None
        if marker[1] == 0xEB:
            head = handle.read(min(length - 2, 16))
            if head.startswith(b"JP") and b"jumb" in head:
                return True
            handle.seek(length - 2 - len(head), 1)
        else:
            handle.seek(length - 2, 1)


def _png(handle: BinaryIO) -> bool | None:
    """A `caBX` chunk (C2PA's JUMBF chunk), anywhere before the end."""
    if handle.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return False
        length, kind = struct.unpack(">I4s", header)
        if kind == b"caBX":
            return True
        if kind == b"IEND":
            return False
        handle.seek(length + 4, 1)  # the data and its CRC


def _webp(handle: BinaryIO) -> bool | None:
    """A `C2PA` chunk in the RIFF container."""
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return False
        kind, length = struct.unpack("<4sI", header)
        if kind == b"C2PA":
            return True
        handle.seek(length + (length & 1), 1)


_WALKS = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp}
