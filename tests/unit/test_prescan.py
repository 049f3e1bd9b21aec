"""The pre-scan refuses metadata built to make ExifTool's parsers super-linear, wherever the
format keeps it, and lets through what cameras, phones and editors write."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from tests.support.media import (
    XMP_HEAD,
    XMP_TAIL,
    deep_xmp,
    draw,
    exiftool,
    extended_xmp_segments,
    jpeg_with_segments,
    make_bare,
    make_pdf,
    make_photo,
    xmp_segment,
)

from exif_service.domain.errors import FileTooComplex
from exif_service.engine import prescan
from exif_service.engine.prescan import check_bytes, check_file

TOO_DEEP = "This file's XMP metadata is nested too deeply to read safely (more than 100 levels)."


def refusal(data: bytes) -> str:
    with pytest.raises(FileTooComplex) as caught:
        check_bytes(data)
    message = caught.value.message
    assert "ExifTool" not in message and "/" not in message  # no engine, no path
    return message


def xmp(body: bytes) -> bytes:
    return XMP_HEAD + body + XMP_TAIL


def png(*chunks: tuple[bytes, bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\0\0"))
    body = b"".join(chunk(kind, data) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + header + body + pixels + chunk(b"IEND", b"")


def atom(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def pdf(*objects: bytes) -> bytes:
    out = b"%PDF-1.4\n"
    for number, body in enumerate(objects, start=1):
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return out + b"trailer\n<< /Root 1 0 R /Info 2 0 R >>\n%%EOF\n"


def pdf_stream(entries: bytes, data: bytes) -> bytes:
    return b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def iptc(count: int) -> bytes:
    """`count` IPTC caption records (dataset 2:120), what ExifTool slows down on the most."""
    return b"".join(
        b"\x1c\x02\x78" + struct.pack(">H", 2) + b"c%d" % (i % 10) for i in range(count)
    )


# --- the issue's file, where it is stored ------------------------------------------------------


def test_the_issues_deep_xmp_file_is_refused_as_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "deep.xmp"
    path.write_bytes(deep_xmp())
    with pytest.raises(FileTooComplex) as caught:
        check_file(path)
    assert caught.value.message == TOO_DEEP


def test_deep_xmp_in_a_jpeg_is_refused() -> None:
    assert refusal(jpeg_with_segments(xmp_segment(deep_xmp(2700)))) == TOO_DEEP


def test_deep_extended_xmp_is_put_together_before_it_is_measured() -> None:
    # 500-byte chunks, last first: no one chunk holds more than ~40 closed levels, the packet
    # ExifTool puts together holds 11,900
    segments = extended_xmp_segments(deep_xmp(), chunk=500)
    assert refusal(jpeg_with_segments(segments[0], *reversed(segments[1:]))) == TOO_DEEP


def test_deep_xmp_in_utf16_is_refused_as_in_utf8() -> None:
    packet = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + deep_xmp(1000)
    wide = packet.decode("latin-1").encode("utf-16-be")
    assert refusal(jpeg_with_segments(xmp_segment(wide))) == TOO_DEEP


def test_deep_xmp_in_a_compressed_png_text_chunk_is_refused() -> None:
    itxt = b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(deep_xmp())
    assert refusal(png((b"iTXt", itxt))) == TOO_DEEP


def test_deep_xmp_in_a_compressed_pdf_metadata_stream_is_refused() -> None:
    metadata = pdf_stream(
        b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", zlib.compress(deep_xmp())
    )
    assert refusal(pdf(b"<< /Type /Catalog /Metadata 2 0 R >>", metadata)) == TOO_DEEP


def test_deep_xmp_that_exiftool_itself_wrote_into_a_heic_is_refused(tmp_path: Path) -> None:
    # HEIF keeps its XMP item in the media data box, where the HEIF `meta` box points
    packet = tmp_path / "deep.xmp"
    packet.write_bytes(deep_xmp(1500))
    heic = make_bare("heic", tmp_path / "photo.heic")
    exiftool("-q", "-m", "-overwrite_original", f"-XMP<={packet}", str(heic))
    assert b"<z:a><z:b><z:a>" in heic.read_bytes()
    with pytest.raises(FileTooComplex) as caught:
        check_file(heic)
    assert caught.value.message == TOO_DEEP


def test_deep_markup_in_an_svgs_metadata_is_refused() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><metadata>' + b"<a>" * 200
    assert refusal(svg + b"</a>" * 200 + b"</metadata></svg>") == (
        "This file's SVG metadata is nested too deeply to read safely (more than 100 levels)."
    )


def test_an_svg_drawing_however_deep_or_large_passes_exiftool_reads_only_its_metadata() -> None:
    groups = b"<g>" * 3000 + b"</g>" * 3000
    paths = b"".join(b'<path d="M0 0L%d 9" fill="#fff"/>' % i for i in range(30_000))
    check_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg"><title>t</title>' + groups + paths + b"</svg>"
    )


def test_a_deep_xml_file_is_named_as_xml() -> None:
    assert refusal(b'<?xml version="1.0"?><doc>' + b"<a>" * 200 + b"</a>" * 200 + b"</doc>") == (
        "This file's XML is nested too deeply to read safely (more than 100 levels)."
    )


# --- wide XMP -----------------------------------------------------------------------------------


def test_xmp_with_thousands_of_different_properties_is_refused() -> None:
    wide = xmp(b"".join(b"<z:p%d>v</z:p%d>" % (i, i) for i in range(6000)))
    assert refusal(wide) == (
        "This file's XMP metadata has too many different properties to read safely "
        "(more than 5,000)."
    )


def test_xmp_with_tens_of_thousands_of_attributes_is_refused() -> None:
    wide = XMP_HEAD[:-1] + b"".join(b' z:a%d="v"' % i for i in range(6000)) + b">" + XMP_TAIL
    assert "too many different properties" in refusal(wide)


def test_xmp_repeating_one_property_tens_of_thousands_of_times_is_refused() -> None:
    assert refusal(xmp(b"<z:p>v</z:p>" * 21_000)) == (
        "This file's XMP metadata has too many properties to read safely (more than 20,000)."
    )


def test_many_nested_chains_under_the_depth_limit_are_refused_by_their_total_cost() -> None:
    chain = b"<z:a>" * 90 + b"x" + b"</z:a>" * 90
    assert refusal(xmp(b"<z:t>" + chain * 200 + b"</z:t>")) == (
        "This file's XMP metadata is too large and complex to read safely."
    )


# --- floods of one tag --------------------------------------------------------------------------


def test_a_flood_of_iptc_records_across_app13_segments_is_refused() -> None:
    def app13(records: bytes) -> bytes:
        resource = b"8BIM\x04\x04\0\0" + struct.pack(">I", len(records)) + records
        payload = b"Photoshop 3.0\0" + resource
        return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload

    # 2 x 5,500 records: each segment under the limit, the file over it
    data = jpeg_with_segments(app13(iptc(5500)), app13(iptc(5500)))
    assert refusal(data) == (
        "This file has too many IPTC records to read safely (more than 10,000)."
    )


def tiff_with(*directories: int) -> bytes:
    """A little-endian TIFF whose IFD chain holds directories of that many entries each."""
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for index, count in enumerate(directories):
        at = len(out)
        following = 0 if index == len(directories) - 1 else at + 2 + 12 * count + 4
        out += struct.pack("<H", count)
        out += struct.pack("<HHII", 0x010E, 2, 4, 0x00636261) * count  # ImageDescription "abc"
        out += struct.pack("<I", following)
    return bytes(out)


def test_an_exif_directory_flood_over_a_chain_of_pages_is_refused() -> None:
    assert refusal(tiff_with(15_000, 15_000)) == (
        "This file's EXIF metadata has too many entries to read safely (more than 20,000)."
    )


def test_a_tiff_with_a_thousand_pages_passes() -> None:
    check_bytes(tiff_with(*[15] * 1000))


def test_a_quicktime_atom_flood_is_refused() -> None:
    comments = b"".join(atom(b"\xa9cmt", struct.pack(">HH", 1, 0) + b"x") for _ in range(11_000))
    movie = atom(b"ftyp", b"isom\0\0\2\0isom") + atom(b"moov", atom(b"udta", comments))
    assert refusal(movie) == (
        "This file has too many QuickTime metadata atoms to read safely (more than 10,000)."
    )


def test_a_png_text_chunk_flood_is_refused() -> None:
    chunks = [(b"tEXt", b"Comment\0%d" % i) for i in range(10_001)]
    assert refusal(png(*chunks)) == (
        "This file has too many PNG text chunks to read safely (more than 10,000)."
    )


def test_a_compressed_text_bomb_is_refused_before_it_is_inflated_whole() -> None:
    bomb = zlib.compress(b"\0" * (prescan.INFLATE_LIMIT + 1), 9)
    assert refusal(png((b"zTXt", b"Comment\0\0" + bomb))) == (
        "This file's compressed metadata is too large to read safely."
    )


# --- PDF ----------------------------------------------------------------------------------------


def test_a_pdf_nested_deeply_is_refused() -> None:
    info = b"<< /Title (t) /Custom " + b"<< /A " * 1000 + b"(x)" + b" >>" * 1000 + b" >>"
    assert refusal(pdf(b"<< /Type /Catalog >>", info)) == (
        "This PDF's structure is nested too deeply to read safely (more than 32 levels)."
    )


def test_pdf_nesting_packed_in_a_compressed_object_stream_is_refused() -> None:
    packed = zlib.compress(b"2 0 << /Title (t) /A " + b"[" * 1000 + b"]" * 1000 + b" >>")
    objstm = pdf_stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", packed)
    assert "nested too deeply" in refusal(pdf(b"<< /Type /Catalog >>", objstm))


def test_a_pdf_dictionary_with_tens_of_thousands_of_keys_is_refused() -> None:
    info = b"<< " + b"".join(b"/K%d (v) " % i for i in range(10_001)) + b">>"
    assert refusal(pdf(b"<< /Type /Catalog >>", info)) == (
        "This PDF has a dictionary too large to read safely (more than 10,000 keys and names)."
    )


def test_brackets_inside_pdf_strings_and_streams_are_not_structure() -> None:
    info = b"<< /Title (" + b"[" * 100 + b") /Subject (a \\) " + b"<<" * 100 + b") >>"
    image = pdf_stream(b"/Subtype /Image", b"[" * 5000 + b"<<" * 5000)
    check_bytes(pdf(b"<< /Type /Catalog >>", info, image))


# --- what real files look like ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["jpeg", "png", "png-alpha", "webp", "gif", "tiff", "avif", "heic", "dng", "nef", "pdf"]
    + ["mp4", "mov"],
)
def test_every_format_people_send_passes(kind: str, tmp_path: Path) -> None:
    check_file(make_bare(kind, tmp_path / f"bare.{kind}"))


def test_a_camera_photo_with_exif_iptc_xmp_and_a_thumbnail_passes(tmp_path: Path) -> None:
    check_file(make_photo(tmp_path / "photo.jpg"))


def test_a_pdf_with_document_information_and_xmp_passes(tmp_path: Path) -> None:
    check_file(make_pdf(tmp_path / "doc.pdf", {"Title": "T", "Author": "A"}, deep_xmp(20)))


def test_photoshops_long_document_ancestors_list_passes() -> None:
    ancestors = b"".join(b"<rdf:li>xmp.did:%032d</rdf:li>" % i for i in range(20_000))
    check_bytes(xmp(b"<photoshop:DocumentAncestors><rdf:Bag>" + ancestors + b"</rdf:Bag></z:x>"))


def test_nesting_just_under_the_limit_passes() -> None:
    check_bytes(xmp(b"<z:a>" * 90 + b"x" + b"</z:a>" * 90))


def test_unclosed_and_stray_tags_do_not_count_as_nesting() -> None:
    # ExifTool gives up on an element whose closing tag never comes and skips stray ones
    check_bytes(xmp(b"<z:br>" * 5000 + b"</z:x>" * 5000 + b"<z:p>v</z:p>"))


def test_a_deeply_nested_html_page_passes_exiftool_does_not_read_it_as_xml() -> None:
    check_bytes(b"<!DOCTYPE html><html><body>" + b"<div>" * 500 + b"</div>" * 500 + b"</html>")


def test_random_binary_data_passes(tmp_path: Path) -> None:
    import random

    noise = random.Random(7).randbytes(4 * 1024 * 1024)
    check_bytes(noise)
    picture = tmp_path / "noise.png"
    draw((400, 300), seed=3).save(picture, "PNG")
    check_file(picture)


def test_an_empty_file_passes(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    check_file(tmp_path / "empty")
