"""Reading Content Credentials with the C2PA reference library, and places with ExifTool.

Both run only when there is something to find: the manifest only when ExifTool's read of the
file already showed a C2PA JUMBF box (so ordinary files pay nothing), the place only when a
caller asks for it (or the privacy report has a position to name).

The library validates offline: remote manifests and certificate revocation (OCSP) are never
fetched, so a file cannot make the server call an address of its choosing.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import c2pa

from exif_service.domain.provenance import (
    UNREADABLE,
    ContentCredentials,
    Place,
    content_credentials,
    place_of,
    valid_position,
)
from exif_service.engine.exiftool import ExifToolPool

log = logging.getLogger(__name__)

_OFFLINE: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
_contexts: dict[str | None, c2pa.Context] = {}
_lock = threading.Lock()


def _context(trust_anchors: str | None) -> c2pa.Context:
    """One library context per trust list, built once (settings parsing is not free)."""
    with _lock:
        context = _contexts.get(trust_anchors)
        if context is None:
            settings: dict[str, Any] = dict(_OFFLINE)
            if trust_anchors:
                settings["trust"] = {"trust_anchors": trust_anchors}
            context = c2pa.Context.from_dict(settings)
            _contexts[trust_anchors] = context
        return context


def read_content_credentials(
    path: Path, mime_type: str, *, trust_anchors: str | None = None
) -> ContentCredentials | None:
    """The file's active manifest, validated; None when there is none to read.

    `trust_anchors` (PEM) are the root certificates whose signers count as trusted; without
    them an intact manifest is `untrusted`. A manifest the library cannot parse is reported as
    `invalid` rather than failing the read: the rest of the report is still worth having.
    """
    try:
        with path.open("rb") as stream:
            reader = c2pa.Reader(mime_type, stream, context=_context(trust_anchors))
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
    """The nearest city to a position from ExifTool's own database (offline, no file needed)."""
    if not valid_position(lat, lng):
        return None
    result = pool.run(["-j", "-n", "-api", f"geolocation={lat:.6f},{lng:.6f}"])
    try:
        records = json.loads(result.stdout) if result.stdout.strip() else []
    except json.JSONDecodeError:
        return None
    if not records or not isinstance(records[0], dict):
        return None
    return place_of(records[0])
