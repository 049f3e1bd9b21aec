"""The pre-scan and image data. In a JPEG it looks where ExifTool reads, also past the start
of the image data: segments among the scans, the trailer wherever the image ends first, and,
when a trailer's reader could be sent back into the image data, the image data itself. A
WebP's pixels are skipped as ExifTool skips them, and no run of bytes costs it more than
linear time."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import pytest
from PIL import Image
from tests.support.media import deep_xmp, draw, exiftool, jpeg_with_segments, make_photo

from exif_service.domain.errors import FileTooComplex
from exif_service.engine.prescan import check_bytes, check_file

TOO_DEEP = "This file's XMP metadata is nested too deeply to read safely (more than 100 levels)."
TOO_MANY_IPTC = "This file has too many IPTC records to read safely (more than 10,000)."
# ExifTool takes a file ending so for one with an AFCP trailer (12 bytes: AXS!, its offset and
# four more), and then walks the whole image data to find where the image ends.
AFCP_FOOTER = b"AXS!" + struct.pack(">I", 0) + b"\0\0\0\0"


def refusal(data: bytes) -> str:
    with pytest.raises(FileTooComplex) as caught:
        check_bytes(data)
    return caught.value.message


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def xmp_app1(packet: bytes) -> bytes:
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + packet)


def before_eoi(jpeg: bytes, *inserted: bytes) -> bytes:
    """`jpeg` with `inserted` put after its image data, just before its end-of-image marker."""
    assert jpeg.endswith(b"\xff\xd9")
    return jpeg[:-2] + b"".join(inserted) + b"\xff\xd9"


def progressive(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    draw(size).save(out, "JPEG", quality=90, progressive=True)
    return out.getvalue()


def iptc_flood(count: int = 12_000) -> bytes:
    # IPTC caption records (2:120); no FF byte, so to a JPEG walker they are image data
    return b"".join(
        b"\x1c\x02\x78" + struct.pack(">H", 2) + b"c%d" % (i % 10) for i in range(count)
    )


# --- segments among the image data --------------------------------------------------------------


def test_exiftool_reads_an_xmp_segment_after_the_image_data_when_a_trailer_sends_it_there(
    tmp_path: Path,
) -> None:
    # the premise of the checks below, shown with the pinned ExifTool on a harmless packet
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>after the scan</dc:title>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    path = tmp_path / "late.jpg"
    path.write_bytes(before_eoi(jpeg_with_segments(), xmp_app1(packet)) + AFCP_FOOTER)
    assert "after the scan" in exiftool("-XMP-dc:Title", str(path))
    path.write_bytes(before_eoi(jpeg_with_segments(), xmp_app1(packet)))
    assert "after the scan" not in exiftool("-XMP-dc:Title", str(path))  # no trailer: never


def test_deep_xmp_in_a_segment_after_the_image_data_is_refused() -> None:
    # ExifTool spent 11 s on this 60 KB file; each more such segment costs as much again
    data = before_eoi(jpeg_with_segments(), xmp_app1(deep_xmp(2700))) + AFCP_FOOTER
    assert refusal(data) == TOO_DEEP
    # without a trailer ExifTool reads it only for a maker note's preview: refused all the same
    assert refusal(before_eoi(jpeg_with_segments(), xmp_app1(deep_xmp(2700)))) == TOO_DEEP


def test_deep_xmp_between_the_scans_of_a_progressive_jpeg_is_refused() -> None:
    image = progressive()
    second_scan = image.index(b"\xff\xda", image.index(b"\xff\xda") + 2)
    data = image[:second_scan] + xmp_app1(deep_xmp(2700)) + image[second_scan:]
    assert refusal(data) == TOO_DEEP


def test_extended_xmp_chunks_among_the_scans_are_put_together_before_they_are_measured() -> None:
    packet = deep_xmp(3000)
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    chunks = [
        segment(
            0xE1,
            b"http://ns.adobe.com/xmp/extension/\0"
            + guid
            + struct.pack(">II", len(packet), offset)
            + packet[offset : offset + 500],
        )
        for offset in range(0, len(packet), 500)
    ]
    image = progressive()
    second_scan = image.index(b"\xff\xda", image.index(b"\xff\xda") + 2)
    data = image[:second_scan] + b"".join(reversed(chunks)) + image[second_scan:]
    assert refusal(data) == TOO_DEEP


def test_a_length_word_holding_ff_d9_does_not_hide_what_follows() -> None:
    # ExifTool's writer ends the image at the first FF D9 anywhere, its reader at the first
    # marker: here they differ, and the trailer is checked from the earlier one
    sneaky = b"\xff\xe5\xff\xd9" + b"\0" * (0xFFD9 - 2)
    trailer = deep_xmp(2700)
    assert refusal(before_eoi(jpeg_with_segments(), sneaky) + trailer) == TOO_DEEP


def test_ff_d9_inside_a_segment_before_the_image_data_does_not_end_the_image_early() -> None:
    comment = segment(0xFE, b"a comment holding \xff\xd9 on purpose")
    assert refusal(jpeg_with_segments(comment) + deep_xmp(2700)) == TOO_DEEP


def test_a_jpeg_of_a_million_empty_segments_is_refused() -> None:
    # ExifTool spent 9 s on the 4 MB file before the first scan; among the scans it would too
    flood = b"\xff\xe5\x00\x02" * 1_000_000
    image = jpeg_with_segments()
    message = "This JPEG has too many segments to read safely (more than 10,000)."
    assert refusal(image[:2] + flood + image[2:]) == message
    assert refusal(before_eoi(image, flood) + AFCP_FOOTER) == message


# --- trailers -----------------------------------------------------------------------------------


def test_a_trailer_holding_deep_xmp_is_refused() -> None:
    assert refusal(jpeg_with_segments() + deep_xmp(2700)) == TOO_DEEP


def test_a_trailer_after_a_fake_end_of_image_inside_a_segment_is_refused() -> None:
    fake = segment(0xEF, b"junk \xff\xd9 more junk")
    data = before_eoi(jpeg_with_segments(), fake) + b"trailer:" + deep_xmp(2700)
    assert refusal(data) == TOO_DEEP


def test_iptc_hidden_in_the_image_data_is_refused_when_the_file_ends_like_a_trailer() -> None:
    # an AFCP trailer's directory may sit anywhere: ExifTool goes where its footer points
    image = before_eoi(jpeg_with_segments(), iptc_flood())
    assert refusal(image + AFCP_FOOTER) == TOO_MANY_IPTC
    check_bytes(image)  # no trailer: ExifTool never reads the image data


def test_iptc_hidden_in_the_image_data_of_a_leica_photo_is_refused() -> None:
    # a Leica maker note points at its trailer by absolute offset, which may be anywhere
    make = segment(0xE1, b"Exif\0\0" + b"II*\0" + b"\0" * 8 + b"Leica Camera AG\0")
    assert refusal(before_eoi(jpeg_with_segments(make), iptc_flood())) == TOO_MANY_IPTC


# --- what people send passes ---------------------------------------------------------------


def test_a_progressive_jpeg_with_many_scans_passes(tmp_path: Path) -> None:
    image = progressive((1600, 1200))
    assert image.count(b"\xff\xda") >= 6  # the scans, each with its Huffman tables
    path = tmp_path / "progressive.jpg"
    path.write_bytes(image)
    check_file(path)


def test_a_photo_with_a_preview_image_after_it_and_a_trailer_footer_passes(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg").read_bytes()
    preview = io.BytesIO()
    draw((160, 120)).save(preview, "JPEG")
    check_bytes(photo + preview.getvalue())
    check_bytes(photo + preview.getvalue() + AFCP_FOOTER)


# --- other formats' image data ------------------------------------------------------------


def test_a_long_run_of_name_characters_costs_the_pre_scan_linear_time() -> None:
    # each start inside the run used to be retried (40 KB: 9 s, holding the interpreter);
    # a megabyte now passes at once, and a deep packet beside it is still refused
    run = b"<x:xmpmeta></x:xmpmeta><a " + b"\x80" * 1_000_000 + b">"
    check_bytes(run)
    check_bytes(b"</x><" + b"a" * 1_000_000 + b"<")
    assert refusal(run + deep_xmp(2700)) == TOO_DEEP


def webp(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"".join(
        kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
        for kind, data in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def test_deep_xmp_in_a_webp_after_its_pixels_is_refused() -> None:
    pixels = bytes(range(256)) * 4000
    assert refusal(webp((b"VP8 ", pixels), (b"XMP ", deep_xmp(2700)))) == TOO_DEEP
    assert refusal(webp((b"VP8X", b"\0" * 10), (b"ALPH", b"a"), (b"XMP ", deep_xmp(2700)))) == (
        TOO_DEEP
    )


def test_a_webp_photo_passes(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    draw((640, 480)).save(path, "WEBP", quality=90, exif=b"Exif\0\0II*\0\x08\0\0\0\0\0")
    check_file(path)


def test_deep_xmp_in_an_avif_is_refused_where_its_item_location_points(tmp_path: Path) -> None:
    # HEIF keeps XMP as an item in the media data; the coded pixels beside it are skipped
    path = tmp_path / "deep.avif"
    draw((320, 240)).save(path, "AVIF", quality=60, xmp=deep_xmp(2700))
    with pytest.raises(FileTooComplex) as caught:
        check_file(path)
    assert caught.value.message == TOO_DEEP


def test_an_avif_photo_with_exif_and_xmp_passes(tmp_path: Path) -> None:
    path = tmp_path / "photo.avif"
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    draw((320, 240)).save(path, "AVIF", quality=60, xmp=deep_xmp(20), exif=exif.tobytes())
    check_file(path)
    assert "Camera Maker" in exiftool("-Make", str(path))


def tiff_bytes(**options: object) -> bytes:
    out = io.BytesIO()
    noise = Image.frombytes("RGB", (400, 300), random.Random(3).randbytes(400 * 300 * 3))
    noise.save(out, "TIFF", **options)
    return out.getvalue()


def test_deep_xmp_in_a_tiff_is_refused_beside_pixels_skipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.tif"
    path.write_bytes(tiff_bytes(compression="tiff_lzw", tiffinfo={700: deep_xmp(2700)}))
    with pytest.raises(FileTooComplex) as caught:
        check_file(path)
    assert caught.value.message == TOO_DEEP


def test_xmp_a_tiff_stores_inside_its_pixel_strips_is_still_checked() -> None:
    # the XMP entry points into the first strip: bytes some entry points at are read
    data = bytearray(tiff_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[ifd : ifd + 2])[0]
    entries = [data[ifd + 2 + 12 * i : ifd + 14 + 12 * i] for i in range(count)]
    strip = next(
        struct.unpack(order + "I", e[8:12])[0]
        for e in entries
        if struct.unpack(order + "H", e[:2])[0] == 0x0111
    )
    packet = deep_xmp(2700)
    data[strip : strip + len(packet)] = packet
    xmp_entry = struct.pack(order + "HHII", 700, 1, len(packet), strip)
    # the XMP entry replaces the last one (whatever it was), sorted order aside
    data[ifd + 2 + 12 * (count - 1) : ifd + 14 + 12 * (count - 1)] = xmp_entry
    assert refusal(bytes(data)) == TOO_DEEP


def test_a_tiff_pointing_to_a_directory_not_followed_here_is_read_whole() -> None:
    # GlobalParametersIFD: a directory ExifTool reads, whose XMP here lies in a strip
    data = bytearray(tiff_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    assert data[:2] == b"II"
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    strip = next(
        struct.unpack("<I", data[ifd + 10 + 12 * i : ifd + 14 + 12 * i])[0]
        for i in range(count)
        if struct.unpack("<H", data[ifd + 2 + 12 * i : ifd + 4 + 12 * i])[0] == 0x0111
    )
    packet = deep_xmp(2700)
    data[strip : strip + len(packet)] = packet
    hidden = len(data)
    data += struct.pack("<HHHII", 1, 700, 1, len(packet), strip) + b"\0" * 4
    last = ifd + 2 + 12 * (count - 1)
    data[last : last + 12] = struct.pack("<HHII", 0x0190, 4, 1, hidden)
    assert refusal(bytes(data)) == TOO_DEEP


def test_a_directory_flood_after_a_tiffs_pixels_is_refused() -> None:
    # strips first, then the file's directories (14,000 entries) and a Photoshop block holding
    # an EXIF structure of 7,000 more: each under the limit, the file over it
    def entry(tag: int, kind: int, count: int, value: int) -> bytes:
        return struct.pack("<HHII", tag, kind, count, value)

    filler = entry(0x010E, 2, 4, 0x00636261)  # ImageDescription "abc"
    embedded = b"II*\0" + struct.pack("<IH", 8, 7_000) + filler * 7_000 + b"\0" * 4
    pixels = b"\x80" * 50_000
    irb_at = 8 + len(pixels)
    first = irb_at + len(embedded)
    entries = [entry(0x0111, 4, 1, 8), entry(0x0117, 4, 1, len(pixels))]
    entries += [entry(0x8649, 7, len(embedded), irb_at)] + [filler] * 6_997
    second = first + 2 + 12 * len(entries) + 4
    out = b"II*\0" + struct.pack("<I", first) + pixels + embedded
    out += struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", second)
    out += struct.pack("<H", 7_000) + filler * 7_000 + struct.pack("<I", 0)
    assert refusal(out) == (
        "This file's EXIF metadata has too many entries to read safely (more than 20,000)."
    )


def test_tiff_photos_pass(tmp_path: Path) -> None:
    for compression in ("raw", "tiff_lzw", "tiff_adobe_deflate"):
        path = tmp_path / f"photo-{compression}.tif"
        path.write_bytes(tiff_bytes(compression=compression, tiffinfo={700: deep_xmp(20)}))
        check_file(path)
