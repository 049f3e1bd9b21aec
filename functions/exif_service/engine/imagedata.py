"""Whether a processed file carries exactly the source's image data.

ExifTool rewrites metadata blocks and copies the coded pixels of JPEG, PNG and WebP byte for
byte. Finding those bytes unchanged proves that the output decodes exactly as the source did,
at the cost of a comparison instead of a decode (a 24-megapixel JPEG takes tens of
milliseconds to decode and about one to compare). This module only reads; it never writes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20
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


def _equal(a: BinaryIO, b: BinaryIO, span_a: tuple[int, int], span_b: tuple[int, int]) -> bool:
    return all(x == y for x, y in zip(_read(a, span_a), _read(b, span_b), strict=True))


def _read(fh: BinaryIO, span: tuple[int, int]) -> Iterator[bytes]:
    offset, length = span
    fh.seek(offset)
    while length > 0:
        data = fh.read(min(_CHUNK, length))
        if not data:
            yield b"<short>"
            return
        length -= len(data)
        yield data


def _ends_with_eoi(fh: BinaryIO) -> bool:
    fh.seek(-2, 2)
    return fh.read(2) == b"\xff\xd9"


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
