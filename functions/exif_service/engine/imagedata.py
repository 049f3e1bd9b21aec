"""Whether a processed file carries exactly the source's image data.

ExifTool rewrites metadata blocks and copies the coded pixels of JPEG, PNG and WebP byte for
byte. Finding those bytes unchanged proves that the output decodes exactly as the source did,
at the cost of a comparison instead of a decode (a 24-megapixel JPEG takes tens of
milliseconds to decode and about one to compare). This module only reads; it never writes.

A JPEG's coded pixels are copied whole, though, with whatever segments sit among them: the
segments that carry metadata there are found here too (`metadata_among_scans`).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import threading
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20
# Buffer pairs for the comparison, reused: reading into buffers already in memory is about
# twice as fast as reading into new ones, whose every page the kernel has to supply. As many
# pairs are kept as comparisons ever ran at once, up to a few (list.pop and append are atomic).
_SPARE: list[tuple[bytearray, bytearray]] = []
_SPARE_MAX = 4
# PNG chunks that make up the picture (an APNG's frames included); the rest is metadata.
_PNG_PIXELS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"acTL", b"fcTL", b"fdAT"})
# WebP chunks that make up the picture.
_WEBP_PIXELS = frozenset({b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"})

# (offset, length) spans of a file whose bytes must match, in order
Spans = list[tuple[int, int]]


def same_image_data(src: Path, dst: Path, file_type: str) -> bool | None:
    """True when `dst` holds `src`'s coded pixels unchanged, False when not, None if unknown."""
    reader = _READERS.get(file_type)
    if reader is None:
        return None
    with src.open("rb") as a, dst.open("rb") as b:
        spans_a, spans_b = reader(a), reader(b)
        if spans_a is None or spans_b is None:
            return None
        if file_type == "JPEG":
            # the processed file ends at the end-of-image marker; a source may go on with a
            # trailer (a maker's preview, appended data) that the strip rightly dropped
            (offset, length), (_, kept) = spans_a[0], spans_b[0]
            if kept > length or not _ends_with_eoi(b):
                return False
            spans_a = [(offset, kept)]
        if [n for _, n in spans_a] != [n for _, n in spans_b]:
            return False
        return all(_equal(a, b, sa, sb) for sa, sb in zip(spans_a, spans_b, strict=True))


def _equal(
    a: BufferedReader, b: BufferedReader, span_a: tuple[int, int], span_b: tuple[int, int]
) -> bool:
    """Whether two spans of the same length hold the same bytes (a span cut short does not)."""
    (offset_a, left), (offset_b, _) = span_a, span_b
    a.seek(offset_a)
    b.seek(offset_b)
    try:
        buffers = _SPARE.pop()
    except IndexError:
        buffers = (bytearray(_CHUNK), bytearray(_CHUNK))
    try:
        buf_a, buf_b = buffers
        while left >= _CHUNK:
            if a.readinto(buf_a) != _CHUNK or b.readinto(buf_b) != _CHUNK or buf_a != buf_b:
                return False
            left -= _CHUNK
    finally:
        if len(_SPARE) < _SPARE_MAX:
            _SPARE.append(buffers)
    rest = a.read(left)
    return len(rest) == left and rest == b.read(left)


def _ends_with_eoi(fh: BinaryIO) -> bool:
    fh.seek(-2, 2)
    return fh.read(2) == b"\xff\xd9"


# Past its first start of scan a JPEG holds coded pixels and what decoding them needs (tables,
# restart intervals, more scans). There every FF followed by anything but stuffing (00), a
# restart marker or fill is a marker; one search finds them at C speed.
_SCAN_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Markers without a length word, as ExifTool walks a JPEG (JPEG 2000's among them)
NO_LENGTH = frozenset({0x01, 0x4F, 0x92, 0x93, 0xD8, 0xDA, *range(0x30, 0x40)})
SOS, EOI = 0xDA, 0xD9
_COM = 0xFE

Buffer = bytes | mmap.mmap
# What the pre-scan's walk found among the scans of a file it checked, by the file's identity
# (device, inode, size, modification time): where the walk began and whether it met metadata.
# A strip's output holds that image data byte for byte, so its own check takes the answer
# instead of walking the same bytes again. The oldest answers go first.
_WALKED: dict[tuple[int, int, int, int], tuple[int, bool]] = {}
_WALKED_MAX = 64
_WALKED_LOCK = threading.Lock()


def walk_scans(data: Buffer, pos: int) -> Iterator[tuple[int, int, int]]:
    """(start, marker, end) of each marker from a JPEG's first start of scan at `pos` to its
    end of image, as ExifTool walks them: a segment's content is skipped by its length word."""
    while (hit := _SCAN_MARKER.search(data, pos)) is not None:
        at = hit.start()
        marker = data[at + 1]
        if marker in NO_LENGTH or marker == EOI:
            yield at, marker, at + 2
            if marker == EOI:
                return
            pos = at + 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        pos = min(at + 2 + length, len(data))
        yield at, marker, pos
        if length < 2:
            return  # ExifTool reads no further


def carries_metadata(marker: int) -> bool:
    """APPn and COM segments carry metadata; the others code the image."""
    return 0xE0 <= marker <= 0xEF or marker == _COM


def remember_walk(identity: os.stat_result, start: int, found: bool) -> None:
    """Keep what a walk of a file's scans from `start` found (see `metadata_among_scans`)."""
    with _WALKED_LOCK:
        if len(_WALKED) >= _WALKED_MAX:
            del _WALKED[next(iter(_WALKED))]
        _WALKED[_identity(identity)] = (start, found)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def metadata_among_scans(path: Path, same_as: Path | None = None) -> list[str]:
    """The metadata segments (APPn, COM) after a JPEG's first start of scan, by marker name.

    ExifTool stops reading a JPEG at its first scan and a strip copies from there to the end
    of the image byte for byte, so metadata put among the scans is neither shown nor removed.
    `same_as` is a file whose image data `path` holds byte for byte (`same_image_data`): when
    the pre-scan walked it from the same start and found none, none is here either.
    """
    if same_as is not None and _walked_clean(same_as):
        return []
    with path.open("rb") as fh:
        spans = _jpeg(fh)
        if not spans:
            return []
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return [
                f"APP{marker - 0xE0}" if marker != _COM else "COM"
                for _, marker, _ in walk_scans(data, spans[0][0])
                if carries_metadata(marker)
            ]


def _walked_clean(path: Path) -> bool:
    with path.open("rb") as fh:
        with _WALKED_LOCK:
            known = _WALKED.get(_identity(os.fstat(fh.fileno())))
        if known is None or known[1]:
            return False
        spans = _jpeg(fh)
    return spans is not None and spans[0][0] == known[0]


def _jpeg(fh: BinaryIO) -> Spans | None:
    """From the first start-of-scan marker to the end of the file."""
    size = fh.seek(0, 2)
    fh.seek(0)
    if fh.read(2) != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= size:
        fh.seek(pos)
        head = fh.read(4)
        if head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:
            return [(pos, size - pos)]
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        pos += 2 + struct.unpack(">H", head[2:4])[0]
    return None


def _png(fh: BinaryIO) -> Spans | None:
    fh.seek(0)
    if fh.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    spans: Spans = []
    pos = 8
    while True:
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            return spans or None
        length, kind = struct.unpack(">I", head[:4])[0], head[4:]
        if kind in _PNG_PIXELS:
            spans.append((pos + 4, length + 8))  # type, data and CRC
        if kind == b"IEND":
            return spans
        pos += 12 + length


def _webp(fh: BinaryIO) -> Spans | None:
    fh.seek(0)
    head = fh.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    end = 8 + struct.unpack("<I", head[4:8])[0]
    spans: Spans = []
    pos = 12
    while pos + 8 <= end:
        fh.seek(pos)
        chunk = fh.read(8)
        if len(chunk) < 8:
            break
        length = struct.unpack("<I", chunk[4:])[0]
        if chunk[:4] in _WEBP_PIXELS:
            spans.append((pos, length + 8))
        pos += 8 + length + (length & 1)
    return spans or None


_READERS = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp}
