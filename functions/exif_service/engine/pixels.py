"""What only the decoded picture can tell: dimensions, transparency, JPEG quality, pHash.

Pillow is the only pixel decoder in the service. It is given an explicit list of formats (no
plugin guessing from the file's bytes beyond those) and a pixel budget from the settings, so a
small file that claims a huge canvas is refused before anything is decoded.

Pillow also parses the TIFF structure of the EXIF block, which lets us report EXIF values the
way the file stores them: rationals at full precision (ExifTool rounds them to 10 significant
digits), APEX values before conversion, and the directory pointers ExifTool does not list.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import (
    ExifTags,
    Image,
    ImageOps,
    JpegImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
)

from exif_service.domain.errors import FileTooLarge, UnsupportedFile
from exif_service.domain.phash import int_to_phash

log = logging.getLogger(__name__)

_WANTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF", "MPO")
# pHash looks at a 32x32 thumbnail; decoding a large JPEG at 1/8 scale loses nothing it sees.
_HASH_SOURCE_SIZE = (256, 256)
# EXIF directories by the name ExifTool gives them, and where Pillow finds them.
_IFDS: dict[str, int] = {
    "ExifIFD": ExifTags.IFD.Exif,
    "GPS": ExifTags.IFD.GPSInfo,
    "InteropIFD": ExifTags.IFD.Interop,
    "IFD1": ExifTags.IFD.IFD1,
}

# The example quantisation tables of the JPEG standard (Annex K), in natural order; encoders
# in the IJG family scale them by the quality setting.
_STD_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_STD_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip


@dataclass(frozen=True)
class PixelFacts:
    """Facts about one picture, from its header and its decoded pixels."""

    format: str  # Pillow's format name: JPEG, PNG, WEBP, ...
    width: int  # as stored, before any EXIF rotation
    height: int
    has_transparency: bool
    has_icc_profile: bool
    quality: int  # estimated JPEG quality 1-100, 0 for other formats
    density: int | None  # pixels per inch, when the file records it
    phash: str  # 16 hex digits
    # EXIF values as stored, by directory (IFD0, IFD1, ExifIFD, GPS, InteropIFD) and tag id.
    stored_exif: Mapping[str, Mapping[int, Any]] = field(default_factory=dict)


def inspect_image(path: Path, max_pixels: int) -> PixelFacts | None:
    """Decode the picture at `path`; None when it is not a format Pillow decodes here."""
    _set_pixel_budget(max_pixels)
    try:
        img = Image.open(path, formats=_formats())
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileTooLarge(_too_many_pixels(max_pixels)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedFile("The image could not be decoded: it is damaged.") from exc
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise FileTooLarge(_too_many_pixels(max_pixels))
        try:
            return _inspect(img, width, height)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise FileTooLarge(_too_many_pixels(max_pixels)) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UnsupportedFile("The image could not be decoded: it is damaged.") from exc


def warm() -> None:
    """Run the hashing code once now, so a Lambda pays for its imports during init."""
    dct_phash(Image.new("L", (32, 32)))


# pHash = the sign pattern of the lowest 8x8 frequencies of a 32x32 grey thumbnail's DCT.
_HASH_SIZE = 8
_HASH_INPUT = _HASH_SIZE * 4
# The first 8 rows of the DCT-II as a matrix (the unnormalised form scipy.fftpack.dct computes):
# D[k][n] = 2 cos(pi k (2n + 1) / 2N). Only the 8x8 low corner of D P D^T is needed, about ten
# thousand products: plain Python does it in a few milliseconds, so neither SciPy (120 MB) nor
# NumPy (55 MB) has to ship in the Lambda package. Tests check it against imagehash bit for bit.
_DCT = [
    [2.0 * math.cos(math.pi * k * (2 * n + 1) / (2 * _HASH_INPUT)) for n in range(_HASH_INPUT)]
    for k in range(_HASH_SIZE)
]


def dct_phash(img: Image.Image) -> int:
    """The 64-bit perceptual hash of `img`, bit-for-bit the one imagehash.phash computes."""
    grey = img.convert("L").resize((_HASH_INPUT, _HASH_INPUT), Image.Resampling.LANCZOS)
    data = list(grey.tobytes())  # one byte per pixel in mode L, row by row
    rows = [data[i : i + _HASH_INPUT] for i in range(0, len(data), _HASH_INPUT)]
    # columns first: half[n][l] = sum_m P[n][m] D[l][m], then low[k][l] = sum_n D[k][n] half[n][l]
    half = [[math.fsum(p * d for p, d in zip(row, dl, strict=True)) for dl in _DCT] for row in rows]
    # rounded, so frequencies that are zero in exact arithmetic (a flat picture) compare as zero
    # instead of as floating-point noise either side of the median
    low = [
        round(math.fsum(dk[n] * half[n][col] for n in range(_HASH_INPUT)), 6)
        for dk in _DCT
        for col in range(_HASH_SIZE)
    ]
    ordered = sorted(low)
    median = (ordered[31] + ordered[32]) / 2
    return int("".join("1" if value > median else "0" for value in low), 2)


def estimate_jpeg_quality(tables: Mapping[int, Any]) -> int:
    """The IJG quality setting (1-100) whose scaled standard tables best match `tables`."""
    luma = list(tables.get(0) or [])
    chroma = list(tables.get(1) or [])
    if len(luma) != 64:
        return 0
    best_q, best_err = 0, math.inf
    for q in range(100, 0, -1):
        err = _table_error(luma, _scaled(_STD_LUMA, q))
        if len(chroma) == 64:
            err += _table_error(chroma, _scaled(_STD_CHROMA, q))
        if err < best_err:
            best_q, best_err = q, err
    return best_q


def _inspect(img: Image.Image, width: int, height: int) -> PixelFacts:
    fmt = str(img.format)
    is_jpeg = isinstance(img, JpegImagePlugin.JpegImageFile)  # MPO (camera JPEGs) included
    quality = estimate_jpeg_quality(getattr(img, "quantization", {}) or {}) if is_jpeg else 0
    icc = bool(img.info.get("icc_profile"))
    density = _density(img.info)
    stored = _stored_exif(img)
    transparency = _has_transparency(img)
    return PixelFacts(
        format=fmt,
        width=width,
        height=height,
        has_transparency=transparency,
        has_icc_profile=icc,
        quality=quality,
        density=density,
        phash=_phash(img),
        stored_exif=stored,
    )


def _has_transparency(img: Image.Image) -> bool:
    """True only if some pixel really is (partly) see-through."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = img.getchannel("A")
    elif "transparency" in img.info:
        # a palette entry or colour key marked transparent: does any pixel use it?
        try:
            alpha = img.convert("RGBA").getchannel("A")
        except ValueError:
            return False
    else:
        return False
    extrema = alpha.getextrema()
    low = extrema[0] if isinstance(extrema, tuple) else extrema
    return bool(isinstance(low, int | float) and low < 255)


def _phash(img: Image.Image) -> str:
    """DCT hash of the picture as a viewer shows it (EXIF orientation applied)."""
    if isinstance(img, JpegImagePlugin.JpegImageFile):
        img.draft("RGB", _HASH_SOURCE_SIZE)  # decode at 1/2..1/8 scale, straight from the DCT
    upright = ImageOps.exif_transpose(img)
    small = upright.copy()
    small.thumbnail(_HASH_SOURCE_SIZE)
    if small.mode not in ("L", "RGB"):
        small = small.convert("RGB")
    bits = dct_phash(small)
    return int_to_phash(bits)


def _density(info: Mapping[Any, Any]) -> int | None:
    dpi = info.get("dpi")
    if isinstance(dpi, tuple) and dpi and isinstance(dpi[0], int | float) and dpi[0] > 0:
        return round(float(dpi[0]))
    return None


def stored_exif_from_block(data: bytes) -> dict[str, dict[int, Any]]:
    """EXIF values as stored, from a raw EXIF block (for formats Pillow does not decode)."""
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:  # a malformed EXIF block only costs precision: ExifTool's values remain
        log.info("pillow could not parse the EXIF block", exc_info=True)
        return {}
    return _directories(exif)


def _stored_exif(img: Image.Image) -> dict[str, dict[int, Any]]:
    try:
        exif = img.getexif()
    except Exception:  # as above: ExifTool's values remain
        log.info("pillow could not parse the EXIF block", exc_info=True)
        return {}
    return _directories(exif)


def _directories(exif: Image.Exif) -> dict[str, dict[int, Any]]:
    try:
        found = {"IFD0": {k: _plain(v) for k, v in exif.items()}}
        for name, ifd in _IFDS.items():
            found[name] = {k: _plain(v) for k, v in exif.get_ifd(ifd).items()}
    except Exception:  # as above: ExifTool's values remain
        log.info("pillow could not parse an EXIF directory", exc_info=True)
        return {}
    return {name: tags for name, tags in found.items() if tags}


def _plain(value: Any) -> Any:
    """Rationals as floats (None when the denominator is 0), tuples as lists."""
    if isinstance(value, TiffImagePlugin.IFDRational):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _scaled(table: tuple[int, ...], quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((v * scale + 50) // 100, 1), 255) for v in table]


def _table_error(actual: list[int], expected: list[int]) -> int:
    return sum(abs(a - e) for a, e in zip(actual, expected, strict=True))


def _formats() -> list[str]:
    Image.init()
    return [f for f in _WANTED_FORMATS if f in Image.OPEN]


def _set_pixel_budget(max_pixels: int) -> None:
    # Pillow's own bomb check (warning above the limit, error above twice it) uses this global;
    # it is set to the same budget as our explicit check so both agree.
    Image.MAX_IMAGE_PIXELS = max_pixels


def _too_many_pixels(max_pixels: int) -> str:
    return f"The image is too large: it has more than {max_pixels:,} pixels."
