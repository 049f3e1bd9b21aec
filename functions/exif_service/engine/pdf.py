"""PDFs written in one piece, so that what ExifTool removed is really gone from the bytes.

ExifTool edits PDFs by incremental update: it appends a new Info dictionary and XMP stream and
leaves the earlier ones in place, where any text tool finds them. After ExifTool has written,
the file is saved once more by qpdf (through pikepdf), which writes only the objects the current
document reaches: earlier revisions and orphaned objects are dropped. qpdf changes no metadata;
ExifTool stays the only writer of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from exif_service.domain.errors import UnsupportedFile, VerificationFailed

log = logging.getLogger(__name__)

# Shorter values (`1`, `Yes`) occur in any PDF by chance; they prove nothing either way.
_MIN_NEEDLE = 4


def rewrite(path: Path) -> None:
    """Save `path` again as one revision holding only the objects the document uses."""
    # imported on the first PDF: qpdf's bindings are ~50 ms of every function's cold start
    import pikepdf

    tmp = path.with_name(path.name + ".rewrite")
    try:
        with pikepdf.open(path) as pdf:
            pdf.save(tmp, linearize=False, fix_metadata_version=False)
    except pikepdf.PasswordError as exc:
        raise UnsupportedFile("This PDF is encrypted: its metadata cannot be rewritten.") from exc
    except pikepdf.PdfError as exc:
        log.info("qpdf could not rewrite a PDF: %s", str(exc)[:200])
        raise UnsupportedFile("This PDF is damaged: it could not be rewritten.") from exc
    tmp.replace(path)


def forms(value: str) -> list[bytes]:
    """The ways a PDF may store `value`: as text, UTF-16 either way, or hex."""
    out: list[bytes] = []
    for encoding in ("utf-8", "latin-1", "utf-16-be", "utf-16-le"):
        try:
            raw = value.encode(encoding)
        except UnicodeEncodeError:
            continue
        out += [raw, raw.hex().encode(), raw.hex().upper().encode()]
    return out


def remaining(path: Path, values: Iterable[str]) -> list[str]:
    """Those of `values` still found anywhere in the file's bytes."""
    data = path.read_bytes()
    found: list[str] = []
    for value in values:
        text = value.strip()
        if len(text) < _MIN_NEEDLE or text in found:
            continue
        if any(needle in data for needle in forms(text)):
            found.append(text)
    return found


def require_absent(path: Path, values: Iterable[str], what: str) -> None:
    """Raise VerificationFailed naming `what` when any old value is still in the bytes."""
    if remaining(path, values):
        raise VerificationFailed(
            f"This PDF's earlier revision still holds {what}; the file was not returned."
        )
