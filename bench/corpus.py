"""A camera-size corpus, generated: 12-24 MP JPEGs carrying what a camera and a photo app write.

Pixels are smooth colour fields under sensor-like noise, so JPEG sizes land where a camera's
do (about 4-8 MB); the metadata is written by ExifTool: make, model and serial numbers, lens,
exposure, GPS, dates with offsets and sub-seconds, IPTC and XMP (rights, keywords, an edit
history), the vendor blocks a raw converter adds (XMP aux and camera-raw settings: the fields
a maker note would otherwise carry), an sRGB ICC profile and an EXIF thumbnail.

The files are cached under `.exif-service/bench/camera-<count>/` of the working directory, so a
second run reuses them; nothing is downloaded.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from PIL import Image, ImageCms, ImageFilter

from exif_service.settings import get_settings

SIZES = [(4000, 3000), (4608, 3456), (5184, 3456), (6000, 4000)]  # 12, 16, 18, 24 MP
CAMERAS = [
    ("Canon", "Canon EOS R6", "RF24-105mm F4 L IS USM", "Canon", "0.0.1.1.7"),
    ("NIKON CORPORATION", "NIKON Z 6_2", "NIKKOR Z 24-70mm f/4 S", "Nikon", "Ver.01.50"),
    ("SONY", "ILCE-7M3", "FE 24-105mm F4 G OSS", "Sony", "ILCE-7M3 v4.01"),
    ("FUJIFILM", "X-T4", "XF16-80mmF4 R OIS WR", "Fujifilm", "Digital Camera X-T4 Ver2.00"),
]
CACHE = Path(".exif-service") / "bench"


def camera_corpus(count: int = 24, root: Path = CACHE, seed: int = 13) -> list[Path]:
    """`count` camera-size JPEGs, made once and reused from `root`."""
    folder = root / f"camera-{count}-{seed}"
    done = folder / ".complete"
    if done.exists():
        return sorted(folder.glob("*.jpg"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    files = []
    for i in range(count):
        path = folder / f"DSC_{1000 + i:04d}.jpg"
        size = SIZES[i % len(SIZES)]
        _pixels(size, rng).save(path, "JPEG", quality=92, icc_profile=srgb, subsampling=0)
        _thumbnail(path)
        _write_metadata(path, i, rng)
        files.append(path)
    done.write_text(f"{count} files\n")
    return files


def _pixels(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Smooth colour fields with structure and grain, cheap to make at 24 MP."""
    small = Image.new("RGB", (16, 12))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(192)]
    )
    base = small.resize(size, Image.Resampling.BICUBIC)
    detail = Image.effect_noise((size[0] // 4, size[1] // 4), 60).filter(
        ImageFilter.GaussianBlur(1)
    )
    detail = detail.resize(size, Image.Resampling.BILINEAR)
    grain = Image.effect_noise(size, 14)
    texture = Image.merge("RGB", (detail, grain, detail))
    return Image.blend(base, texture, 0.35)


def _thumbnail(path: Path) -> None:
    with Image.open(path) as image:
        image.draft("RGB", (160, 120))
        thumb = image.convert("RGB")
        thumb.thumbnail((160, 120))
        thumb.save(path.with_suffix(".thumb"), "JPEG", quality=75)


def _write_metadata(path: Path, index: int, rng: random.Random) -> None:
    make, model, lens, vendor, firmware = CAMERAS[index % len(CAMERAS)]
    day = 1 + index % 28
    stamp = (
        f"2024:06:{day:02d} {8 + index % 10:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    )
    exposure = rng.choice(["1/60", "1/125", "1/250", "1/500", "1/1000", "1/2000"])
    aperture = rng.choice([2.8, 4.0, 5.6, 8.0, 11.0])
    focal = rng.choice([24, 35, 50, 70, 105])
    tags = {
        "EXIF:Make": make,
        "EXIF:Model": model,
        "EXIF:SerialNumber": f"{rng.randrange(10**9, 10**10)}",
        "EXIF:OwnerName": "A. Photographer",
        "EXIF:LensMake": make.split()[0].title(),
        "EXIF:LensModel": lens,
        "EXIF:LensSerialNumber": f"{rng.randrange(10**7, 10**8)}",
        "EXIF:LensInfo": "24 105 4 4",
        "EXIF:Software": firmware,
        "EXIF:Artist": "A. Photographer",
        "EXIF:Copyright": "(c) 2024 A. Photographer",
        "EXIF:ImageDescription": "Harbour at dawn",
        "EXIF:Orientation#": str(rng.choice([1, 1, 1, 6, 8])),
        "EXIF:XResolution": "300",
        "EXIF:YResolution": "300",
        "EXIF:ResolutionUnit": "inches",
        "EXIF:ExposureTime": exposure,
        "EXIF:FNumber": str(aperture),
        "EXIF:ExposureProgram": "Aperture-priority AE",
        "EXIF:ISO": str(rng.choice([100, 200, 400, 800, 1600, 3200])),
        "EXIF:SensitivityType": "Recommended Exposure Index",
        "EXIF:DateTimeOriginal": stamp,
        "EXIF:CreateDate": stamp,
        "EXIF:ModifyDate": stamp,
        "EXIF:OffsetTime": "+02:00",
        "EXIF:OffsetTimeOriginal": "+02:00",
        "EXIF:OffsetTimeDigitized": "+02:00",
        "EXIF:SubSecTimeOriginal": f"{rng.randrange(100):02d}",
        "EXIF:ShutterSpeedValue": exposure,
        "EXIF:ApertureValue": str(aperture),
        "EXIF:ExposureCompensation": rng.choice(["0", "-1/3", "+2/3"]),
        "EXIF:MaxApertureValue": "4",
        "EXIF:MeteringMode": "Multi-segment",
        "EXIF:LightSource": "Unknown",
        "EXIF:Flash": "Off, Did not fire",
        "EXIF:FocalLength": str(focal),
        "EXIF:FocalLengthIn35mmFormat": str(focal),
        "EXIF:FocalPlaneXResolution": "1675.257",
        "EXIF:FocalPlaneYResolution": "1675.257",
        "EXIF:FocalPlaneResolutionUnit": "cm",
        "EXIF:ColorSpace": "sRGB",
        "EXIF:ExposureMode": "Auto",
        "EXIF:WhiteBalance": "Auto",
        "EXIF:SceneCaptureType": "Standard",
        "EXIF:Contrast": "Normal",
        "EXIF:Saturation": "Normal",
        "EXIF:Sharpness": "Normal",
        "EXIF:SubjectDistanceRange": "Unknown",
        "EXIF:UserComment": f"{vendor} frame {index}",
        "EXIF:ImageUniqueID": f"{rng.getrandbits(128):032x}",
        "GPS:GPSVersionID": "2.3.0.0",
        "GPS:GPSLatitude": f"{43 + rng.random():.6f}",
        "GPS:GPSLatitudeRef": "N",
        "GPS:GPSLongitude": f"{5 + rng.random():.6f}",
        "GPS:GPSLongitudeRef": "E",
        "GPS:GPSAltitude": f"{rng.randrange(0, 900)}",
        "GPS:GPSAltitudeRef": "Above Sea Level",
        "GPS:GPSTimeStamp": stamp.split()[1],
        "GPS:GPSDateStamp": stamp.split()[0],
        "GPS:GPSSpeed": "0",
        "GPS:GPSSpeedRef": "km/h",
        "GPS:GPSImgDirection": f"{rng.randrange(360)}",
        "GPS:GPSImgDirectionRef": "True North",
        "GPS:GPSMapDatum": "WGS-84",
        "IPTC:By-line": "A. Photographer",
        "IPTC:City": "Marseille",
        "IPTC:Country-PrimaryLocationName": "France",
        "IPTC:Caption-Abstract": "Harbour at dawn",
        "IPTC:CopyrightNotice": "(c) 2024 A. Photographer",
        "XMP-dc:Creator": "A. Photographer",
        "XMP-dc:Rights": "(c) 2024 A. Photographer",
        "XMP-dc:Title": f"Harbour {index}",
        "XMP-dc:Description": "Harbour at dawn, fishing boats coming in",
        "XMP-photoshop:City": "Marseille",
        "XMP-photoshop:Country": "France",
        "XMP-photoshop:DateCreated": stamp,
        "XMP-xmp:Rating": str(rng.randrange(6)),
        "XMP-xmp:CreatorTool": firmware,
        "XMP-aux:Lens": lens,
        "XMP-aux:LensID": str(rng.randrange(1, 400)),
        "XMP-aux:SerialNumber": f"{rng.randrange(10**9, 10**10)}",
        "XMP-aux:LensSerialNumber": f"{rng.randrange(10**7, 10**8)}",
        "XMP-aux:ImageNumber": str(10000 + index),
        "XMP-aux:ApproximateFocusDistance": f"{rng.random() * 20:.2f}",
        "XMP-aux:Firmware": firmware,
        "XMP-aux:FlashCompensation": "0",
        "XMP-crs:Version": "16.4",
        "XMP-crs:ProcessVersion": "11.0",
        "XMP-crs:WhiteBalance": "As Shot",
        "XMP-crs:Temperature": str(rng.randrange(3000, 7500)),
        "XMP-crs:Tint": str(rng.randrange(-20, 20)),
        "XMP-crs:Exposure2012": f"{rng.uniform(-1, 1):+.2f}",
        "XMP-crs:Contrast2012": str(rng.randrange(-30, 30)),
        "XMP-crs:Highlights2012": str(rng.randrange(-80, 0)),
        "XMP-crs:Shadows2012": str(rng.randrange(0, 80)),
        "XMP-crs:Whites2012": str(rng.randrange(-20, 20)),
        "XMP-crs:Blacks2012": str(rng.randrange(-20, 20)),
        "XMP-crs:Texture": str(rng.randrange(0, 30)),
        "XMP-crs:Clarity2012": str(rng.randrange(0, 30)),
        "XMP-crs:Dehaze": str(rng.randrange(0, 20)),
        "XMP-crs:Vibrance": str(rng.randrange(0, 30)),
        "XMP-crs:Saturation": "0",
        "XMP-crs:Sharpness": "40",
        "XMP-crs:SharpenRadius": "+1.0",
        "XMP-crs:SharpenDetail": "25",
        "XMP-crs:LuminanceSmoothing": "0",
        "XMP-crs:ColorNoiseReduction": "25",
        "XMP-crs:VignetteAmount": "0",
        "XMP-crs:LensProfileEnable": "1",
        "XMP-crs:LensProfileName": f"Adobe ({lens})",
        "XMP-crs:LensManualDistortionAmount": "0",
        "XMP-crs:CameraProfile": "Adobe Standard",
        "XMP-crs:HasSettings": "True",
        "XMP-crs:AlreadyApplied": "False",
        "XMP-xmpMM:DocumentID": f"xmp.did:{rng.getrandbits(64):016x}",
        "XMP-xmpMM:OriginalDocumentID": f"{rng.getrandbits(128):032X}",
        "XMP-xmpMM:InstanceID": f"xmp.iid:{rng.getrandbits(64):016x}",
    }
    args = [f"-{name}={value}" for name, value in tags.items()]
    args += ["-IPTC:Keywords=harbour", "-IPTC:Keywords=boats", "-IPTC:Keywords=dawn"]
    args += ["-XMP-dc:Subject=harbour", "-XMP-dc:Subject=boats", "-XMP-dc:Subject=dawn"]
    for step in range(3):
        args += [
            f"-XMP-xmpMM:HistoryAction={'saved' if step else 'derived'}",
            f"-XMP-xmpMM:HistoryWhen={stamp}",
            f"-XMP-xmpMM:HistorySoftwareAgent=Photo editor 13.{step}",
        ]
    thumb = path.with_suffix(".thumb")
    args += [f"-ThumbnailImage<={thumb}", "-overwrite_original", "-q", "-q", str(path)]
    settings = get_settings()
    subprocess.run(  # noqa: S603 - the pinned ExifTool, our own arguments
        [settings.perl_path, str(settings.exiftool_path), *args], check=True, timeout=120
    )
    thumb.unlink()


def padded_copy(source: Path, dest: Path, size: int) -> Path:
    """`source` grown to `size` bytes by a trailer after its end (what some phones append)."""
    data = source.read_bytes()
    dest.write_bytes(data + b"\0" * max(0, size - len(data)))
    return dest
