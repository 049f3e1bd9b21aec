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
