"""Test files made by the tests: Pillow draws the pixels, the real ExifTool writes the tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageCms, ImageDraw

from exif_service.settings import get_settings

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exiftool(*args: str) -> str:
    """Run the pinned ExifTool once, outside the service, as a user would on the shell."""
    settings = get_settings()
    result = subprocess.run(
        [settings.perl_path, str(settings.exiftool_path), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout


def draw(size: tuple[int, int] = (320, 240), seed: int = 0) -> Image.Image:
    """A picture with shapes, so that pHash and pixel comparisons have something to see."""
    img = Image.new("RGB", size, (20 + seed * 7 % 200, 80, 160))
    pen = ImageDraw.Draw(img)
    w, h = size
    pen.ellipse((w // 8, h // 8, w // 2, h // 2 + seed % 40), fill=(240, 200, 40))
    pen.rectangle((w // 2, h // 3, w - w // 10, h - h // 8), fill=(30, 160 + seed % 90, 60))
    pen.line((0, h - 1, w - 1, seed % h), fill=(255, 255, 255), width=5)
    return img


def make_jpeg(path: Path, *, icc: bool = True, quality: int = 90, seed: int = 0) -> Path:
    draw(seed=seed).save(path, "JPEG", quality=quality, icc_profile=SRGB if icc else None)
    return path


def make_photo(path: Path, **extra: str) -> Path:
    """A JPEG carrying camera, GPS, identity, IPTC, XMP, comment and a thumbnail."""
    make_jpeg(path)
    thumb = path.with_name(path.stem + "-thumb.jpg")
    draw((80, 60)).save(thumb, "JPEG", quality=70)
    tags = {
        "EXIF:Make": "Canon",
        "EXIF:Model": "Canon EOS R5",
        "EXIF:Orientation#": "6",
        "EXIF:DateTimeOriginal": "2024:03:15 10:30:00",
        "EXIF:ExposureTime": "1/1000",
        "EXIF:FNumber": "2.8",
        "EXIF:ISO": "100",
        "EXIF:Artist": "Jane Doe",
        "EXIF:SerialNumber": "SN123456",
        "EXIF:GPSLatitude": "48.8566",
        "EXIF:GPSLatitudeRef": "N",
        "EXIF:GPSLongitude": "2.3522",
        "EXIF:GPSLongitudeRef": "E",
        "IPTC:By-line": "Jane Doe",
        "IPTC:CopyrightNotice": "(c) 2024 Jane Doe",
        "XMP-dc:Title": "Paris",
        "XMP-dc:Creator": "Jane Doe",
        "File:Comment": "made by the tests",
        **extra,
    }
    args = [f"-{k}={v}" for k, v in tags.items()]
    exiftool("-q", "-overwrite_original", *args, f"-ThumbnailImage<={thumb}", str(path))
    thumb.unlink()
    return path


def make_png(path: Path, *, alpha: bool = False) -> Path:
    img = draw().convert("RGBA") if alpha else draw()
    img.save(path, "PNG", icc_profile=SRGB)
    exiftool("-q", "-overwrite_original", "-PNG:Comment=hello", "-XMP-dc:Title=png", str(path))
    return path


# The format matrix (tests/integration/test_format_matrix.py): one small file per format with
# no metadata of its own; the tests add the metadata with the pinned ExifTool. Formats the
# project cannot make from what it installs (HEIC, MP4, MOV) are committed tiny fixtures.

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "media"
BARE_SIZE = (64, 48)


def make_bare(kind: str, path: Path) -> Path:
    """A file of `kind` (jpeg, png, png-alpha, webp, gif, tiff, avif, heic, dng, nef, pdf,
    mp4, mov) holding a picture and nothing else but what its format requires."""
    if kind in _COMMITTED:
        path.write_bytes((FIXTURES / _COMMITTED[kind]).read_bytes())
    elif kind in ("dng", "nef"):
        path.write_bytes(raw_tiff(dng=kind == "dng"))
    elif kind == "pdf":
        make_pdf(path)
    else:
        img = draw(BARE_SIZE)
        fmt, options = _PILLOW[kind]
        (img.convert("RGBA") if kind == "png-alpha" else img).save(path, fmt, **options)
    return path


_COMMITTED = {"heic": "blank.heic", "mp4": "blank.mp4", "mov": "blank.mov"}
_PILLOW: dict[str, tuple[str, dict[str, object]]] = {
    "jpeg": ("JPEG", {"quality": 85, "icc_profile": SRGB}),
    "png": ("PNG", {"icc_profile": SRGB}),
    "png-alpha": ("PNG", {"icc_profile": SRGB}),
    "webp": ("WEBP", {"quality": 80, "icc_profile": SRGB}),
    "gif": ("GIF", {}),
    "tiff": ("TIFF", {"compression": "tiff_lzw", "dpi": (72, 72), "icc_profile": SRGB}),
    "avif": ("AVIF", {"quality": 60, "icc_profile": SRGB}),
}

# TIFF field types: (struct code, bytes per count unit)
_SHORT, _LONG, _RATIONAL, _SRATIONAL, _BYTE, _ASCII = 3, 4, 5, 10, 1, 2
_TIFF_CODES = {_BYTE: "B", _SHORT: "H", _LONG: "I", _RATIONAL: "I", _SRATIONAL: "i"}
TiffEntry = tuple[int, int, tuple[int, ...] | str]


def _ifd(entries: list[TiffEntry], at: int) -> bytes:
    """One little-endian IFD written at offset `at`, its out-of-line values after it."""
    import struct

    head = struct.pack("<H", len(entries))
    extra = b""
    extra_at = at + 2 + 12 * len(entries) + 4
    for tag, kind, values in sorted(entries):
        if isinstance(values, str):
            data, count = values.encode() + b"\0", len(values) + 1
        else:
            data = struct.pack(f"<{len(values)}{_TIFF_CODES[kind]}", *values)
            count = len(values) // 2 if kind in (_RATIONAL, _SRATIONAL) else len(values)
        if len(data) <= 4:
            head += struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\0")
        else:
            head += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
            extra += data + b"\0" * (len(data) % 2)
    return head + struct.pack("<I", 0) + extra


def raw_tiff(*, dng: bool) -> bytes:
    """A camera raw laid out as cameras write it: IFD0 an RGB preview, its SubIFD the sensor's
    CFA data (uncompressed, 16 bits, RGGB). `dng` adds the tags the DNG specification requires
    in IFD0; otherwise it is a Nikon raw (NEF: a TIFF whose Make is Nikon's)."""
    import struct

    width, height = 16, 12
    preview = draw((width, height)).tobytes()
    sensor = struct.pack(f"<{width * height}H", *((i * 331) % 4096 for i in range(width * height)))

    def image(size: int, offset: int, rgb: bool) -> list[TiffEntry]:
        return [
            (254, _LONG, (1 if rgb else 0,)),  # NewSubfileType: preview / main image
            (256, _LONG, (width,)),
            (257, _LONG, (height,)),
            (258, _SHORT, (8, 8, 8) if rgb else (16,)),
            (259, _SHORT, (1,)),
            (262, _SHORT, (2 if rgb else 32803,)),  # RGB / colour filter array
            (273, _LONG, (offset,)),
            (277, _SHORT, (3 if rgb else 1,)),
            (278, _LONG, (height,)),
            (279, _LONG, (size,)),
            (284, _SHORT, (1,)),
        ]

    camera: list[TiffEntry] = (
        [
            (50706, _BYTE, (1, 4, 0, 0)),  # DNGVersion
            (50707, _BYTE, (1, 1, 0, 0)),  # DNGBackwardVersion
            (50708, _ASCII, "Matrix Raw Camera"),  # UniqueCameraModel
            (50721, _SRATIONAL, (8, 10, -2, 10, 0, 10, -3, 10, 12, 10, 1, 10, 0, 10, 1, 10, 6, 10)),
            (50778, _SHORT, (21,)),  # CalibrationIlluminant1: D65
            (50728, _RATIONAL, (1, 2, 1, 1, 2, 3)),  # AsShotNeutral
        ]
        if dng
        else [(271, _ASCII, "NIKON CORPORATION"), (272, _ASCII, "NIKON D850")]
    )
    cfa: list[TiffEntry] = [(33421, _SHORT, (2, 2)), (33422, _BYTE, (0, 1, 1, 2))]
    if dng:
        cfa += [(50710, _BYTE, (0, 1, 2)), (50711, _SHORT, (1,)), (50717, _LONG, (4095,))]
    # two passes: the sizes do not depend on the offsets, so the first pass measures them
    ifd0_len = len(_ifd([*image(0, 0, True), (330, _LONG, (0,)), *camera], 8))
    preview_at = 8 + ifd0_len
    sub_at = preview_at + len(preview)
    sub_len = len(_ifd([*image(0, 0, False), *cfa], sub_at))
    sensor_at = sub_at + sub_len
    ifd0 = _ifd([*image(len(preview), preview_at, True), (330, _LONG, (sub_at,)), *camera], 8)
    sub = _ifd([*image(len(sensor), sensor_at, False), *cfa], sub_at)
    return b"II*\0" + struct.pack("<I", 8) + ifd0 + preview + sub + sensor


def make_pdf(path: Path, info: dict[str, str] | None = None, xmp: bytes | None = None) -> Path:
    """A one-page PDF showing a JPEG, its document information and XMP in its only revision,
    as an authoring application writes them (ExifTool would add an incremental update, which
    it can also undo, so a strip would look easier than it is). Info values that are not
    ASCII-only, and every `Author`, are stored as UTF-16BE, as word processors do."""
    import io

    picture = io.BytesIO()
    draw(BARE_SIZE).save(picture, "JPEG", quality=85)
    w, h = BARE_SIZE
    content = f"q {w} 0 0 {h} 0 0 cm /Im0 Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 6 0 R" if xmp else b"") + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 5 0 R "
        "/Resources << /XObject << /Im0 4 0 R >> >> >>".encode(),
        _pdf_stream(
            f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB "
            "/BitsPerComponent 8 /Filter /DCTDecode",
            picture.getvalue(),
        ),
        _pdf_stream("", content),
        _pdf_stream("/Type /Metadata /Subtype /XML", xmp or b""),
        b"<< "
        + b" ".join(b"/" + k.encode() + b" " + _pdf_text(k, v) for k, v in (info or {}).items())
        + b" >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (" /Info 7 0 R" if info else "")
    out += f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def _pdf_stream(entries: str, data: bytes) -> bytes:
    head = f"<< {entries} /Length {len(data)} >>\nstream\n".encode()
    return head + data + b"\nendstream"


def _pdf_text(key: str, value: str) -> bytes:
    raw = (
        value.encode("latin-1")
        if value.isascii() and key != "Author"
        else b"\xfe\xff" + value.encode("utf-16-be")
    )
    escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped + b")"


# Hostile metadata (tests/unit/test_prescan.py, tests/integration/test_hostile_metadata.py):
# shapes ExifTool cannot write, so they are put together byte by byte, as an attacker would.

XMP_HEAD = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:z="http://example.com/z/">'
)
XMP_TAIL = b"</rdf:Description></rdf:RDF></x:xmpmeta>"


def deep_xmp(pairs: int = 5950) -> bytes:
    """The issue's recipe: 129 KB of XMP nested 2 x 5,950 levels deep (ExifTool 13.59: 68 s)."""
    opening, closing = b"<z:a><z:b>" * pairs, b"</z:b></z:a>" * pairs
    return XMP_HEAD + b"<z:t>" + opening + b"x" + closing + b"</z:t>" + XMP_TAIL


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    import struct

    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_segments(*segments: bytes) -> bytes:
    """A small JPEG drawn by Pillow with `segments` (whole APPn segments) after its SOI."""
    import io

    out = io.BytesIO()
    draw((64, 48)).save(out, "JPEG", quality=80)
    data = out.getvalue()
    return data[:2] + b"".join(segments) + data[2:]


def xmp_segment(packet: bytes) -> bytes:
    """An APP1 segment holding standard XMP (at most 65,502 bytes of packet)."""
    return _jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + packet)


def extended_xmp_segments(packet: bytes, chunk: int = 65000) -> list[bytes]:
    """Standard XMP naming `packet` as its extended XMP, then `packet` cut into APP1 chunks
    (GUID, full length, offset), as Photoshop writes XMP too large for one segment."""
    import hashlib
    import struct

    guid = hashlib.md5(packet).hexdigest().upper().encode()  # noqa: S324 - XMP's own choice
    main = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        b'xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="'
        + guid
        + b'"/></rdf:RDF></x:xmpmeta>'
    )
    head = b"http://ns.adobe.com/xmp/extension/\0" + guid
    return [xmp_segment(main)] + [
        _jpeg_segment(0xE1, head + struct.pack(">II", len(packet), at) + packet[at : at + chunk])
        for at in range(0, len(packet), chunk)
    ]


# One tag of each privacy category, where stills and movies keep them (the preset and
# privacy-report suites strip and report these).
PRIVACY_STILL = [
    "-GPS:GPSLatitude=48.8566",
    "-GPS:GPSLatitudeRef=N",
    "-GPS:GPSLongitude=2.3522",
    "-GPS:GPSLongitudeRef=E",
    "-XMP-photoshop:City=Paris",
    "-EXIF:SerialNumber=SN123456",
    "-EXIF:Artist=Jane Doe",
    "-XMP-dc:Creator=Jane Doe",
    "-EXIF:DateTimeOriginal=2024:03:15 10:30:00",
    "-EXIF:FNumber=2.8",
    "-EXIF:Software=EditorPro 9",
    "-XMP-xmpMM:HistoryAction=saved",
    "-EXIF:UserComment=met Bob here",
    "-XMP-iptcExt:PersonInImage=Bob Roe",
]
PRIVACY_MOVIE = [
    "-Keys:GPSCoordinates=48.8566, 2.3522",
    "-UserData:GPSCoordinates=48.8566, 2.3522",
    "-XMP-photoshop:City=Paris",
    "-XMP-exifEX:BodySerialNumber=SN123456",
    "-Keys:Author=Jane Doe",
    "-XMP-dc:Creator=Jane Doe",
    "-XMP-xmpMM:HistoryAction=saved",
    "-Keys:Comment=met Bob here",
    "-XMP-iptcExt:PersonInImage=Bob Roe",
]
