"""A bounded, linear look at a caller's file before ExifTool parses it.

ExifTool reads ordinary files in well under a second, but a few shapes of metadata cost it
super-linear time (measured with ExifTool 13.59), and a worker busy for the whole deadline is a
worker every other request waits for:

- XMP nested thousands deep: each element's closing tag is searched for through all of its
  content, so the cost grows with depth x size (129 KB nested 11,900 deep: 68 s).
- XMP with tens of thousands of properties (each distinct one ~100 us and ~9 KB of memory).
- Floods of one repeated tag, which cost more per tag the more there are: IPTC records (160,000
  captions: 18 s), TIFF/EXIF directory entries, QuickTime atoms, PNG text chunks.
- PDF dictionaries nested deeply (1,000 levels in 9 KB: 2.7 s; 10,000: over 2 minutes) or
  holding tens of thousands of keys.

`check_file` walks the bytes once per check, where ExifTool would look (JPEG segments, also
among the scans, extended XMP and trailers; WebP and PNG chunks, compressed text inflated; TIFF
directories, QuickTime atoms, PDF objects and compressed object streams, XMP wherever it is
stored as text, also UTF-16/32), stops at the first limit passed and raises FileTooComplex with
a message that names the metadata, never ExifTool. Every limit sits well above what cameras,
editors and phones write. Coded pixels are skipped where the format makes that cheap; the
pre-scan itself costs linear time whatever the bytes (it holds the interpreter while it runs).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from exif_service.domain.errors import FileTooComplex
from exif_service.engine.imagedata import (
    EOI,
    NO_LENGTH,
    SOS,
    carries_metadata,
    remember_walk,
    walk_scans,
)

Buffer = bytes | mmap.mmap

# XMP: real packets nest 10-20 levels (Lightroom's masks, IPTC regions), hold a few hundred
# distinct properties and, with Photoshop's DocumentAncestors, up to tens of thousands of list
# items. ExifTool pays ~40 us per property, and about 0.1-1 us per unit of work: each tag its
# closing-tag searches pass, and each level of each property's path. At these limits a packet
# still parses in about a second.
XMP_MAX_DEPTH = 100
XMP_MAX_PROPERTIES = 20_000  # elements and attributes, list items apart
XMP_MAX_DISTINCT = 5_000  # distinct property paths: each becomes a tag of its own (~9 KB)
XMP_MAX_WORK = 1_000_000
IPTC_MAX_RECORDS = 10_000  # a busy newsroom file has a few hundred
TIFF_MAX_ENTRIES = 20_000  # a 1,000-page scan has ~15,000; a camera file ~1,000
BMFF_MAX_ATOMS = 10_000  # atoms inside moov/meta; phones and cameras write a few hundred
PNG_MAX_TEXT_CHUNKS = 10_000
JPEG_MAX_SEGMENTS = 10_000  # a camera writes a few dozen; a progressive JPEG adds two per scan
PDF_MAX_DEPTH = 32  # PDF writers nest dictionaries and arrays a handful of levels
PDF_MAX_NAMES = 10_000  # names (keys, and values that are names) in one dictionary
INFLATE_LIMIT = 64 * 1024 * 1024  # compressed metadata (PNG text, PDF streams) once inflated

_STACK_LIMIT = 4096  # open elements remembered per run; older ones are dropped (see _Markup)

# What each count may reach in one file (summed over all its blocks), and what the caller is
# told beyond it; `{what}` names the file's markup ("XMP metadata", "SVG metadata" or "XML").
_LIMITS: dict[str, tuple[int, str]] = {
    "xmp_work": (XMP_MAX_WORK, "This file's {what} is too large and complex to read safely."),
    "xmp_properties": (
        XMP_MAX_PROPERTIES,
        f"This file's {{what}} has too many properties to read safely "
        f"(more than {XMP_MAX_PROPERTIES:,}).",
    ),
    "xmp_distinct": (
        XMP_MAX_DISTINCT,
        f"This file's {{what}} has too many different properties to read safely "
        f"(more than {XMP_MAX_DISTINCT:,}).",
    ),
    "iptc_records": (
        IPTC_MAX_RECORDS,
        f"This file has too many IPTC records to read safely (more than {IPTC_MAX_RECORDS:,}).",
    ),
    "tiff_entries": (
        TIFF_MAX_ENTRIES,
        "This file's EXIF metadata has too many entries to read safely "
        f"(more than {TIFF_MAX_ENTRIES:,}).",
    ),
    "atoms": (
        BMFF_MAX_ATOMS,
        "This file has too many QuickTime metadata atoms to read safely "
        f"(more than {BMFF_MAX_ATOMS:,}).",
    ),
    "jpeg_segments": (
        JPEG_MAX_SEGMENTS,
        f"This JPEG has too many segments to read safely (more than {JPEG_MAX_SEGMENTS:,}).",
    ),
    "png_text": (
        PNG_MAX_TEXT_CHUNKS,
        "This file has too many PNG text chunks to read safely "
        f"(more than {PNG_MAX_TEXT_CHUNKS:,}).",
    ),
}


def check_file(path: Path) -> None:
    """Raise FileTooComplex if the file's metadata would cost ExifTool super-linear time."""
    if path.stat().st_size == 0:
        return
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        tally = _check(data)
        if tally.scans is not None:  # a JPEG: what its walk found is worth keeping
            remember_walk(os.fstat(fh.fileno()), *tally.scans)


def check_bytes(data: Buffer) -> None:
    """`check_file` on bytes already in memory (or mapped)."""
    _check(data)


def _check(data: Buffer) -> _Tally:
    what = _markup_label(data)
    tally = _Tally(what, svg=what == "SVG metadata")
    for block in _metadata_blocks(data, _Inflater(), tally):
        _check_block(block, tally)
    return tally


def _metadata_blocks(data: Buffer, inflate: _Inflater, tally: _Tally) -> Iterator[Buffer]:
    """The parts of the file ExifTool parses, after it reassembles, inflates or decodes them.

    Pixel and media data are left out where the format makes that cheap (JPEG scans, PNG IDAT,
    a movie's mdat): ExifTool does not parse them, and skipping them keeps this look short.
    """
    if data.find(b"%PDF-", 0, 1024) >= 0:
        # PDF syntax is full of `<<` and `<hex>`: its XMP streams are found through its objects
        yield from _pdf_blocks(data, inflate)
    elif data[:3] == b"\xff\xd8\xff":
        yield from _jpeg_blocks(data, tally)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        yield from _png_blocks(data, inflate, tally)
    elif bytes(data[:4]) in _TIFF_HEADERS:
        yield from _tiff_blocks(data, tally)
    elif data[4:8] in _BMFF_TOP:
        yield from _bmff_blocks(data, tally)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        yield from _webp_blocks(data)
    else:
        yield data


def _check_block(block: Buffer, tally: _Tally) -> None:
    if tally.what is not None:
        _check_markup(block, tally)
        for view in _wide_encoded_views(block):
            _check_markup(view, tally)
    _check_iptc(block, tally)
    _check_tiff_blocks(block, tally)


@dataclass
class _Tally:
    """What the whole file adds up to, over all its blocks: ExifTool parses every one."""

    what: str | None  # how to name the file's markup (None: HTML, not read as XML)
    svg: bool = False  # the file is an SVG image (see _SVG_READ)
    counts: Counter[str] = field(default_factory=Counter)
    paths: set[int] = field(default_factory=set)  # distinct XMP property paths
    # a JPEG's walk past its first scan: where it began, and whether it met metadata segments
    scans: tuple[int, bool] | None = None

    def add(self, name: str, count: int = 1) -> None:
        """Count `count` more of `name`; FileTooComplex past its limit (see _LIMITS)."""
        self.counts[name] += count
        limit, message = _LIMITS[name]
        if self.counts[name] > limit:
            raise FileTooComplex(message.format(what=self.what))

    def add_property(self, path: int, depth: int) -> None:
        """One more XMP property, at `path` (ExifTool makes one tag per distinct path)."""
        self.add("xmp_properties")
        self.add("xmp_work", depth)  # ExifTool walks the path to name the tag
        if path not in self.paths:
            self.paths.add(path)
            self.add("xmp_distinct")


class _Inflater:
    """zlib inflation with one output budget for the whole file (no decompression bombs)."""

    def __init__(self) -> None:
        self.left = INFLATE_LIMIT

    def __call__(self, packed: bytes) -> bytes:
        try:
            out = zlib.decompressobj().decompress(packed, self.left + 1)
        except zlib.error:
            return b""  # ExifTool cannot read it either
        if len(out) > self.left:
            raise FileTooComplex("This file's compressed metadata is too large to read safely.")
        self.left -= len(out)
        return out


# --- XMP (and any XML: SVG, XMP sidecars) ------------------------------------------------------

# A tag as ExifTool's XMP parser finds one (`<([?/]?)([-\w:.\x80-\xff]+)([^>]*)>`), except that
# the attributes stop at the next `<` too, so that junk without a `>` cannot make this scan
# quadratic. Names are matched possessively and only from their first character: a long run of
# name characters (bytes of 0x80 and up are common in image data) must not be retried from
# each of its positions, which made one 40 KB run cost 9 s.
_TAG = re.compile(rb"<(/?)([-\w:.\x80-\xff]++)([^<>]*+)>")
_ATTR = re.compile(rb"(?<![-\w:.\x80-\xff])([-\w:.\x80-\xff]++)\s*+=\s*+[\"']")
_LIST_ITEM = b"rdf:li"
# In an SVG, ExifTool reads only what the root's `metadata`, `title` and `desc` children hold
_SVG_READ = re.compile(rb"\b(?:metadata|desc|title)$")


@dataclass
class _Open:
    """An element whose closing tag has not been seen yet."""

    name: bytes
    path: int  # hash of the names from the root: ExifTool makes one tag per distinct path
    depth: int
    opened_at: int  # tags seen before it, to count the tags its closing-tag search passes
    skipped: bool = False  # drawing in an SVG: ExifTool finds its end and does not look inside
    height: int = 0  # levels of closed elements inside it


@dataclass
class _Markup:
    """Matched elements in one run of markup: what ExifTool's XMP parser pays for.

    XMP is text, so a NUL byte ends a run: in binary data runs are short and junk cannot add up.
    Only elements whose closing tag is found count (ExifTool gives up on the others), and an
    unmatched `<x>` (HTML's `<br>`, a stray `<` in binary) is dropped when an outer element
    closes.
    """

    tally: _Tally
    stack: list[_Open] = field(default_factory=list)
    open_names: Counter[bytes] = field(default_factory=Counter)
    tags: int = 0

    def open(self, name: bytes, attrs: bytes) -> None:
        parent = self.stack[-1] if self.stack else None
        depth = len(self.stack) + 1
        skipped = parent is not None and (
            parent.skipped or (self.tally.svg and depth == 2 and not _SVG_READ.search(name))
        )
        path = hash((parent.path if parent else 0, name))
        element = _Open(name, path, depth, self.tags, skipped)
        if skipped and attrs.endswith(b"/"):
            return
        for attr in [] if skipped else _ATTR.findall(attrs):
            if not attr.startswith(b"xmlns"):
                self.tally.add_property(hash((element.path, attr)), element.depth + 1)
        if attrs.endswith(b"/"):  # an empty element: closed as it opens
            self._closed(element, 1)
            return
        self.stack.append(element)
        self.open_names[name] += 1
        if len(self.stack) > _STACK_LIMIT:
            # a chain this deep fails the depth limit from its innermost end; what is dropped
            # here is unmatched junk or the outer part of such a chain
            for dropped in self.stack[: _STACK_LIMIT // 2]:
                self.open_names[dropped.name] -= 1
            del self.stack[: _STACK_LIMIT // 2]

    def close(self, name: bytes) -> None:
        if not self.open_names[name]:
            return  # a closing tag without its opening tag: ExifTool skips it too
        height = 0
        while True:
            element = self.stack.pop()
            self.open_names[element.name] -= 1
            height = max(height, element.height)
            if element.name == name:
                break
        if element.skipped and element.depth > 2:
            return  # inside an SVG drawing ExifTool skipped as a whole
        # ExifTool searched every tag inside for this closing tag
        self.tally.add("xmp_work", self.tags - element.opened_at)
        if not element.skipped:
            self._closed(element, height + 1)

    def _closed(self, element: _Open, height: int) -> None:
        if height > XMP_MAX_DEPTH:
            raise FileTooComplex(
                f"This file's {self.tally.what} is nested too deeply to read safely "
                f"(more than {XMP_MAX_DEPTH} levels)."
            )
        if self.stack:
            self.stack[-1].height = max(self.stack[-1].height, height)
        if element.name == _LIST_ITEM:
            self.tally.add("xmp_work", element.depth)  # a value of its list: no tag of its own
        else:
            self.tally.add_property(element.path, element.depth)


# Only markup that closes elements costs ExifTool anything: nesting and properties need `</`
# or `/>`. Looking only at the NUL-free runs around those keeps this scan fast on image data.
_CLOSES = re.compile(rb"</|/>")


def _check_markup(block: Buffer, tally: _Tally) -> None:
    pos = 0
    while (hit := _CLOSES.search(block, pos)) is not None:
        start = block.rfind(b"\0", 0, hit.start()) + 1
        end = block.find(b"\0", hit.end())
        pos = len(block) if end < 0 else end
        run = _Markup(tally)
        for match in _TAG.finditer(block, start, pos):
            run.tags += 1
            closing, name, attrs = match.groups()
            if closing:
                run.close(name)
            else:
                run.open(name, attrs)


def _markup_label(data: Buffer) -> str | None:
    """How to name the file's markup; None for HTML, which ExifTool does not read as XML."""
    head = bytes(data[:1024])
    if not head.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n").startswith(b"<"):
        return "XMP metadata"  # a binary file: its markup is embedded XMP
    if re.match(rb"\s*(?:<!doctype\s+html|<html)", head, re.IGNORECASE):
        return None
    if b"xmpmeta" in head or b"rdf:RDF" in head:
        return "XMP metadata"
    # ExifTool's own test: a DOCTYPE naming svg, or an <svg> element in the first bytes
    return "SVG metadata" if re.search(rb"<!DOCTYPE\s+svg|<svg[\s>]", head) else "XML"


# ExifTool converts XMP stored as UTF-16 or UTF-32 before parsing it: a block that opens with
# `<?xpacket begin` in that encoding, or a whole file that starts so (with or without a BOM).
_XPACKET = b"<?xpacket begin"


def _wide_encoded_views(block: Buffer) -> Iterator[bytes]:
    """The ASCII view of XMP stored in UTF-16/32: every 2nd or 4th byte, at each alignment."""
    head = bytes(block[:8])
    wide_text = b"\0" in head and head.replace(b"\0", b"").lstrip(b"\xfe\xff").startswith(b"<")
    for width in (2, 4):
        encoded = (b"\0" * (width - 1)).join(bytes([c]) for c in _XPACKET)
        if wide_text or block.find(encoded) >= 0:
            for offset in range(width):
                yield block[offset::width]


# --- JPEG ---------------------------------------------------------------------------------------

_EXTENDED_XMP = b"http://ns.adobe.com/xmp/extension/\0"
# The endings by which ExifTool recognises a trailer in a JPEG's last 64 bytes (AFCP,
# FotoStation, Photo Mechanic, Canon VRD, MIE, Samsung, Insta360, Nikon app, Vivo, OnePlus).
# Their readers find their data by lengths and offsets counted from the end of the file, which
# may reach back into the image data; so may a Leica maker note's pointer to its trailer.
_TRAILER_TAIL = re.compile(
    rb"AXS[!*]|\xa1\xb2\xc3\xd4|cbipcbbl|CANON OPTIONAL DATA|zmie|QDIOBS|SEFT"
    rb"|8db42d694ccc418790edff439fe026bf|NIKON APP|\x1b\*9HWfu|jxrs"
)
_LEICA = (b"Leica Camera AG", b"LEICA\0")

Chunks = dict[bytes, dict[int, bytes]]  # extended XMP: GUID -> offset -> bytes


def _jpeg_blocks(data: Buffer, tally: _Tally) -> Iterator[Buffer]:
    """The segments before the image data and any among it, the trailer, and extended XMP put
    together; the image data too when a trailer's reader could be sent into it.

    Past the first scan ExifTool walks on when it looks for the end of the image (to read a
    trailer, or a preview a maker note points at), and parses the segments it meets there like
    those before the scan. The walk is imagedata's, which a strip's check shares; what it met
    is kept in the tally.

    Extended XMP is cut into APP1 chunks (GUID, total size, offset) that ExifTool joins before
    parsing, at each start of scan: a packet too deep to see in any one chunk is whole again
    here.
    """
    chunks: Chunks = {}
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (SOS, EOI):  # start of scan, end of image: metadata segments are over
            break
        if marker in NO_LENGTH or marker == 0 or 0xD0 <= marker <= 0xD8:  # no length word
            pos += 2
            continue
        tally.add("jpeg_segments")  # each one a Python step here, and a parse in ExifTool
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        _collect_extended_xmp(data, pos, pos + 2 + length, chunks)
        pos += 2 + length
    yield data[:pos]
    packets: list[bytes] = []
    segments, eoi = _scan_segments(data, pos, chunks, packets, tally)
    tally.scans = (pos, any(carries_metadata(segment[1]) for segment in segments))
    if _TRAILER_TAIL.search(data[-64:]) or any(data.find(s, 0, pos) >= 0 for s in _LEICA):
        yield data[pos:]
    else:
        yield from segments
        if eoi + 2 < len(data):
            yield data[eoi + 2 :]  # a trailer: Photo Mechanic's, Canon's VRD, a Google phone's
    yield from packets
    yield from _joined(chunks)  # chunks no start of scan followed


def _scan_segments(
    data: Buffer, pos: int, chunks: Chunks, packets: list[bytes], tally: _Tally
) -> tuple[list[Buffer], int]:
    """The segments from the first start of scan on, as ExifTool's walk to the end of the image
    finds them, and where the image ends at the earliest (the length of the file if nowhere).

    ExifTool's reader stops at the first end-of-image marker between segments, its writer at
    the first FF D9 anywhere, inside a segment too: the earlier of the two starts the trailer.
    """
    segments: list[Buffer] = []
    first_d9 = -1
    for at, marker, end in walk_scans(data, pos):
        if marker == EOI:
            return segments, at if first_d9 < 0 else first_d9
        if marker == SOS:  # ExifTool parses the extended XMP it has at each scan
            packets += _joined(chunks)
        if marker in NO_LENGTH:
            continue
        tally.add("jpeg_segments")
        segments.append(data[at:end])
        _collect_extended_xmp(data, at, end, chunks)
        if first_d9 < 0:
            first_d9 = data.find(b"\xff\xd9", at, end + 1)
    return segments, first_d9 if first_d9 >= 0 else len(data)


def _collect_extended_xmp(data: Buffer, at: int, end: int, chunks: Chunks) -> None:
    """Keep the extended XMP chunk (GUID, total size, offset, bytes) of the segment at `at`."""
    if data[at + 1] == 0xE1 and data[at + 4 : at + 4 + len(_EXTENDED_XMP)] == _EXTENDED_XMP:
        body = data[at + 4 : end]
        if len(body) > 75:
            offset = int.from_bytes(body[71:75], "big")
            chunks.setdefault(bytes(body[35:67]), {})[offset] = bytes(body[75:])


def _joined(chunks: Chunks) -> list[bytes]:
    """Each extended XMP packet put together from its chunks, which are then forgotten."""
    packets = [b"".join(parts[offset] for offset in sorted(parts)) for parts in chunks.values()]
    chunks.clear()
    return packets


# --- PNG ----------------------------------------------------------------------------------------

_PNG_PIXELS = frozenset({b"IDAT", b"fdAT"})
_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})


def _png_blocks(data: Buffer, inflate: _Inflater, tally: _Tally) -> Iterator[Buffer]:
    """Every chunk but the pixel data; compressed text (XMP, ImageMagick's hex "Raw profile"
    IPTC and EXIF) inflated as ExifTool does."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = pos + 8
        pos = body + length + 4
        if kind in _PNG_PIXELS:
            continue
        chunk = bytes(data[body : body + length])
        yield chunk
        if kind not in _PNG_TEXT:
            continue
        tally.add("png_text")
        keyword, _, rest = chunk.partition(b"\0")
        if kind == b"zTXt":
            text = inflate(rest[1:])
        elif kind == b"iTXt" and rest[:1] == b"\1":
            # compression flag and method, then language and translated keyword, NUL-ended
            text = inflate(rest[2:].split(b"\0", 2)[-1])
        else:
            continue
        yield _raw_profile(text) if keyword.startswith(b"Raw profile type") else text


def _raw_profile(text: bytes) -> bytes:
    """ImageMagick's "Raw profile": a name, a length, then the bytes in hex."""
    try:
        return bytes.fromhex(b"".join(text.split(b"\n")[3:]).decode("ascii"))
    except ValueError:
        return b""


# --- WebP ---------------------------------------------------------------------------------------

# Chunks of coded pixels: ExifTool reads a few header bytes of the first for the image size
_WEBP_PIXELS = frozenset({b"VP8 ", b"VP8L", b"ALPH"})


def _webp_blocks(data: Buffer) -> Iterator[Buffer]:
    """Everything but the coded pixels, walked chunk by chunk as ExifTool walks them (an
    animation's frames are left whole)."""
    pos, start = 12, 0
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + length + (length & 1)
        if data[pos : pos + 4] in _WEBP_PIXELS:
            yield data[start:pos]
            start = min(end, len(data))
        pos = end
    yield data[start:]


# --- IPTC ---------------------------------------------------------------------------------------

# An IPTC IIM record: 0x1C, record number (ExifTool knows 1-9 and 240), dataset, 2-byte length.
_IPTC_RECORD = re.compile(rb"\x1c[\x01-\x09\xf0]")


def _check_iptc(block: Buffer, tally: _Tally) -> None:
    """Count IPTC records in chains of two or more (one alone is as likely to be chance)."""
    pos, end = 0, len(block)
    while (match := _IPTC_RECORD.search(block, pos)) is not None:
        at, chain = match.start(), 0
        while at + 5 <= end and block[at] == 0x1C:
            length = int.from_bytes(block[at + 3 : at + 5], "big")
            if length & 0x8000:  # extended dataset: the next (length & 0x7fff) bytes hold it
                size = length & 0x7FFF
                length = int.from_bytes(block[at + 5 : at + 5 + size], "big") if size <= 4 else 0
                at += size
            at += 5 + length
            chain += 1
        if chain > 1:
            tally.add("iptc_records", chain)
        pos = max(at, match.start() + 1)


# --- TIFF / EXIF directories (EXIF in JPEG, PNG, WebP, HEIC..., TIFF and raw files) ------------

# TIFF headers: EXIF blocks use the standard two; Olympus ORF and Panasonic RW2 files start
# with variants of their own
_TIFF_HEADERS = (b"II*\0", b"MM\0*")
_RAW_HEADERS = (b"IIRO", b"IIRS", b"MMOR", b"IIU\0")
# tags pointing to more directories: SubIFDs, ExifIFD, GPS, Interoperability, MakerNotes
_SUB_IFD_TAGS = frozenset({0x014A, 0x8769, 0x8825, 0xA005, 0x927C})
_LONG = 4


def _check_tiff_blocks(block: Buffer, tally: _Tally) -> None:
    if bytes(block[:4]) in _RAW_HEADERS:
        _count_tiff_entries(block, 0, tally)
    for header in _TIFF_HEADERS:
        at = block.find(header)
        while at >= 0:
            _count_tiff_entries(block, at, tally)
            at = block.find(header, at + 1)


def _count_tiff_entries(block: Buffer, base: int, tally: _Tally) -> None:
    """Entries in the directories reachable from one TIFF header (each directory once)."""
    order = "<" if block[base] == ord("I") else ">"
    todo = [_u32(block, base + 4, order)]
    seen: set[int] = set()
    while todo:
        at = base + todo.pop()
        if at in seen or at <= base or not _plausible_ifd(block, at, order):
            continue
        seen.add(at)
        (n,) = struct.unpack(order + "H", block[at : at + 2])
        tally.add("tiff_entries", n)
        table = block[at + 2 : at + 2 + 12 * n]
        for tag, kind, number, value in struct.iter_unpack(order + "HHII", table):
            if tag in _SUB_IFD_TAGS and kind in (_LONG, 7, 13) and number >= 1:
                todo.append(value)  # the first sub-directory; a maker note starting there
        if len(table) == 12 * n:  # the next directory in the chain (pages, thumbnail)
            todo.append(_u32(block, at + 2 + 12 * n, order))


def _u32(block: Buffer, at: int, order: str) -> int:
    return int.from_bytes(block[at : at + 4], "little" if order == "<" else "big")


def _plausible_ifd(block: Buffer, at: int, order: str) -> bool:
    """Does a directory start here: an entry count, and entries of TIFF types (1-13)?"""
    if at + 2 > len(block):
        return False
    (n,) = struct.unpack(order + "H", block[at : at + 2])
    probe = block[at + 2 : at + 2 + 12 * min(n, 4)]
    if n == 0 or len(probe) < 12 * min(n, 4):
        return False
    return all(1 <= kind <= 13 for _, kind, _, _ in struct.iter_unpack(order + "HHII", probe))


# Bytes per count of each TIFF field type (1-13, and BigTIFF's 16-18 that some writers use)
_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_PIXEL_TAGS = {0x0111: 0x0117, 0x0144: 0x0145}  # strip and tile offsets -> their byte counts
# Pointers this does not follow, to directories or data anywhere: a maker note, a DNG's private
# data, and the other directory pointers ExifTool follows in a TIFF (global parameters, Kodak,
# Leaf, Hasselblad, profile, Nikon and KDC directories)
_OPAQUE_TAGS = frozenset(
    {0x927C, 0xC634, 0x0190, 0x8290, 0x888A, 0xC519, 0xC51B, 0xC6F5, 0xC7D5, 0xFE00}
)
_TIFF_POINTERS = frozenset({0x014A, 0x8769, 0x8825, 0xA005})  # SubIFDs, Exif, GPS, Interop


def _tiff_blocks(data: Buffer, tally: _Tally) -> Iterator[Buffer]:
    """A TIFF's bytes but its strips and tiles of pixels, after counting its own directories.

    ExifTool reads a TIFF's directories and what their entries point at, never the pixels;
    bytes some other entry points at are read even inside them, and a TIFF whose directories
    point where this cannot follow is read whole.
    """
    try:
        layout = _tiff_layout(data)
    except (IndexError, ValueError, struct.error):
        layout = None
    if layout is None:
        yield data
        return
    pixels, kept = layout
    _count_tiff_entries(data, 0, tally)  # the file's own directories, wherever they lie
    # past the header (the blocks must not count those directories again), every byte but
    # the pixels, and what other entries point at; each byte in one block at most
    spans, pos = [], 4
    for start, end in sorted(pixels):
        spans.append((pos, start))
        pos = max(pos, end)
    spans += [(pos, len(data)), *kept]
    start = end = 0
    for begin, finish in sorted((a, min(b, len(data))) for a, b in spans if a < b):
        if begin > end:
            if end > start:
                yield data[start:end]
            start = begin
        end = max(end, finish)
    if end > start:
        yield data[start:end]


def _tiff_layout(data: Buffer) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """(pixel ranges, ranges other entries point at) over every directory, or None."""
    order = "<" if data[0] == ord("I") else ">"
    todo, seen = [_u32(data, 4, order)], set()
    pixels: list[tuple[int, int]] = []
    kept: list[tuple[int, int]] = []
    entries = 0
    while todo:
        at = todo.pop()
        if at in seen or not 8 <= at < len(data):
            continue
        seen.add(at)
        (n,) = struct.unpack(order + "H", data[at : at + 2])
        entries += n
        if entries > TIFF_MAX_ENTRIES:
            return None  # refused whole by the entry count
        fields: dict[int, list[int]] = {}
        for index in range(n):
            entry = at + 2 + 12 * index
            tag, kind, count = struct.unpack(order + "HHI", data[entry : entry + 8])
            if tag in _OPAQUE_TAGS or kind not in _TIFF_SIZES:
                return None
            size = _TIFF_SIZES[kind] * count
            where = entry + 8 if size <= 4 else _u32(data, entry + 8, order)
            if size > 4 and tag not in _PIXEL_TAGS.values() and tag not in _PIXEL_TAGS:
                kept.append((where, where + size))
            if tag in _TIFF_POINTERS or tag in _PIXEL_TAGS or tag in _PIXEL_TAGS.values():
                fields[tag] = _tiff_values(data, where, kind, count, order)
        todo += [value for tag in _TIFF_POINTERS for value in fields.get(tag, [])]
        todo.append(_u32(data, at + 2 + 12 * n, order))
        for offsets_tag, counts_tag in _PIXEL_TAGS.items():
            offsets, counts = fields.get(offsets_tag, []), fields.get(counts_tag, [])
            if len(offsets) != len(counts):
                return None
            pixels += [
                (start, start + length) for start, length in zip(offsets, counts, strict=True)
            ]
    return pixels, kept


def _tiff_values(data: Buffer, at: int, kind: int, count: int, order: str) -> list[int]:
    """The values of a SHORT or LONG array (offsets, byte counts, directory pointers)."""
    if kind not in (3, 4, 13) or count > TIFF_MAX_ENTRIES * 16:
        raise ValueError("not an array of offsets")
    code = "H" if kind == 3 else "I"
    return list(
        struct.unpack(f"{order}{count}{code}", data[at : at + count * (2 if kind == 3 else 4)])
    )


# --- QuickTime / ISO base media (MP4, MOV, HEIC, AVIF, 3GP...) ---------------------------------

_BMFF_TOP = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"})
# atoms whose content is more atoms, on the paths to what ExifTool reads
_BMFF_CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"meta", b"ilst", b"edts", b"dinf"}
    | {b"iprp", b"ipco", b"tref", b"mvex", b"sinf", b"schi", b"wave", b"gmhd", b"tapt"}
)


def _bmff_blocks(data: Buffer, tally: _Tally) -> Iterator[Buffer]:
    """Every top-level atom but the media data, after counting the atoms inside each.

    HEIF (HEIC, AVIF) keeps its Exif and XMP items in `mdat`, where its top-level `meta` box
    points: there the items that are not coded pixels are read, or all of `mdat` when its item
    locations cannot be followed.
    """
    atoms = list(_atoms(data, 0, len(data)))
    metas = [(body, end) for kind, _, body, end in atoms if kind == b"meta"]
    extents = _heif_metadata_extents(data, *metas[0], tally) if len(metas) == 1 else None
    for kind, start, body, end in atoms:
        if kind in (b"free", b"skip", b"wide"):
            continue
        if kind == b"mdat" and (not metas or extents is not None):
            continue
        _count_atoms(data, kind, body, end, tally)
        yield data[start:end]
    for offset, length in extents or ():
        yield data[offset : offset + length]


# HEIF item types that hold coded pixels, which ExifTool does not parse (a grid, an overlay or
# a derived image describes them in a few bytes, and is read)
_HEIF_PIXELS = frozenset(
    {b"hvc1", b"hvt1", b"lhv1", b"av01", b"avc1", b"vvc1", b"j2k1", b"unci", b"jpeg"}
)


def _heif_metadata_extents(
    data: Buffer, body: int, end: int, tally: _Tally
) -> list[tuple[int, int]] | None:
    """Where the items that are not coded pixels lie (offset, length), from the `meta` box's
    item information and locations; None when those cannot be followed with certainty."""
    if data[body : body + 4] != b"\0\0\0\0":
        return None  # not an ISO meta box (version 0, no flags)
    boxes: dict[bytes, list[tuple[int, int]]] = {}
    for kind, _, content, child_end in _atoms(data, body + 4, end):
        boxes.setdefault(kind, []).append((content, child_end))
    infos, locations = boxes.get(b"iinf", []), boxes.get(b"iloc", [])
    if len(infos) != 1 or len(locations) != 1:
        return None
    try:
        pixels = _heif_pixel_items(data, *infos[0])
        return _heif_extents(data, *locations[0], pixels, tally)
    except (IndexError, ValueError):
        return None


def _heif_pixel_items(data: Buffer, start: int, end: int) -> set[int]:
    """The ids of the items that hold coded pixels (an id declared twice is not one of them)."""
    types: dict[int, bytes] = {}
    count = 2 if data[start] == 0 else 4  # entry count: 16 bits in version 0, else 32
    for kind, _, content, _ in _atoms(data, start + 4 + count, end):
        version = data[content]
        if kind != b"infe" or version < 2:
            continue  # an item of no declared type: read as metadata
        size = 2 if version == 2 else 4
        item = int.from_bytes(data[content + 4 : content + 4 + size], "big")
        kind_at = content + 4 + size + 2  # after the protection index
        item_type = bytes(data[kind_at : kind_at + 4])
        types[item] = item_type if types.get(item, item_type) == item_type else b""
    return {item for item, item_type in types.items() if item_type in _HEIF_PIXELS}


def _heif_extents(
    data: Buffer, start: int, end: int, pixels: set[int], tally: _Tally
) -> list[tuple[int, int]] | None:
    """The file extents of every item but `pixels`, from an `iloc` box (versions 0 to 2)."""
    version, pos = data[start], start + 4

    def read(size: int) -> int:
        nonlocal pos
        if pos + size > end:
            raise ValueError("past the box")
        value = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        return value

    sizes = read(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    if version > 2 or {offset_size, length_size, base_size, index_size} - {0, 4, 8}:
        return None
    count = read(2 if version < 2 else 4)
    tally.add("atoms", count)  # each item a tag or more to ExifTool
    extents: list[tuple[int, int]] = []
    for _ in range(count):
        item = read(2 if version < 2 else 4)
        method = read(2) & 15 if version in (1, 2) else 0
        reference, base = read(2), read(base_size)
        for _ in range(read(2)):
            read(index_size)
            offset, length = base + read(offset_size), read(length_size)
            if item in pixels or method == 1:
                continue  # coded pixels, or data inside the meta box (already read whole)
            if method != 0 or reference != 0 or offset > len(data):
                return None  # in another item or another file: not followed here
            extents.append((offset, length or len(data) - offset))
    return extents


def _atoms(data: Buffer, pos: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, start, start of content, end) of each atom between `pos` and `end`."""
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:  # to the end of its container
            size = end - pos
        if size < header:
            return
        yield kind, pos, pos + header, min(pos + size, end)
        pos += size


def _count_atoms(data: Buffer, kind: bytes, body: int, end: int, tally: _Tally) -> None:
    """Count the atoms inside one top-level atom, through the containers ExifTool opens."""
    todo = [(kind, body, end)]
    while todo:
        parent, pos, stop = todo.pop()
        if parent == b"meta" and data[pos : pos + 4] == b"\0\0\0\0":
            pos += 4  # ISO's meta box has version and flags first; QuickTime's has not
        for child, _, content, child_end in _atoms(data, pos, stop):
            tally.add("atoms")
            # an item list's entries (`\xa9nam`, `covr`...) hold their values in `data` atoms
            if child in _BMFF_CONTAINERS or parent == b"ilst":
                todo.append((child, content, child_end))


# --- PDF ----------------------------------------------------------------------------------------

_PDF_TOKEN = re.compile(
    rb"<<|>>|\[|\]"
    rb"|/[^\s/\[\]()<>{}%]*"  # a name
    rb"|\([^()\\]*(?:\\.[^()\\]*)*\)"  # a literal string (its brackets are not structure)
    rb"|%[^\r\n]*"  # a comment
    rb"|\bstream(?:\r\n|\r|\n)|\bendobj\b",
    re.DOTALL,
)


@dataclass
class _PdfNesting:
    """Open dictionaries and arrays, and the span of the last top-level dictionary."""

    stack: list[list[int]] = field(default_factory=list)  # [is a dictionary, names in it]
    opened: int = 0
    last_dict: tuple[int, int] = (0, 0)  # a stream's dictionary is the one just before it

    def open(self, token: bytes, at: int) -> None:
        if not self.stack:
            self.opened = at
        self.stack.append([token == b"<<", 0])
        if len(self.stack) > PDF_MAX_DEPTH:
            raise FileTooComplex(
                "This PDF's structure is nested too deeply to read safely "
                f"(more than {PDF_MAX_DEPTH} levels)."
            )

    def close(self, token: bytes, end: int) -> None:
        if self.stack and self.stack[-1][0] == (token == b">>"):  # else a stray: ignored
            self.stack.pop()
            if not self.stack:
                self.last_dict = (self.opened, end)

    def name(self) -> None:
        if self.stack and self.stack[-1][0]:
            self.stack[-1][1] += 1
            if self.stack[-1][1] > PDF_MAX_NAMES:
                raise FileTooComplex(
                    "This PDF has a dictionary too large to read safely "
                    f"(more than {PDF_MAX_NAMES:,} keys and names)."
                )


def _pdf_blocks(data: Buffer, inflate: _Inflater) -> Iterator[Buffer]:
    """Check nesting and dictionary sizes; yield the XMP streams (inflated when compressed)."""
    nesting = _PdfNesting()
    pos = 0
    while (match := _PDF_TOKEN.search(data, pos)) is not None:
        token, pos = match.group(), match.end()
        if token in (b"<<", b"["):
            nesting.open(token, match.start())
        elif token in (b">>", b"]"):
            nesting.close(token, pos)
        elif token[:1] == b"/":
            nesting.name()
        elif token.startswith(b"stream"):
            # stream data is binary: skip it, looking inside only for XMP and packed objects
            end = data.find(b"endstream", pos)
            if end < 0:
                return
            head = data[nesting.last_dict[0] : nesting.last_dict[1]]
            yield from _pdf_stream(head, data[pos:end], inflate)
            pos = end + len(b"endstream")
        elif token == b"endobj":
            nesting.stack.clear()  # an unclosed dictionary does not nest the next object


def _pdf_stream(head: bytes, body: bytes, inflate: _Inflater) -> Iterator[Buffer]:
    """An XMP stream's text; the objects packed in a compressed object stream are checked."""
    compressed = b"/FlateDecode" in head
    if b"/ObjStm" in head and compressed:
        yield from _pdf_blocks(inflate(body), inflate)
    elif b"/Metadata" in head:
        yield inflate(body) if compressed else body
