"""The ExifTool layer as `sam build` makes it (make build-ExifToolLayer into ARTIFACTS_DIR):
the layout the Lambda settings expect under /opt, and an ExifTool that runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from exif_service import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
LAYER_MAKEFILE_DIR = ROOT / "layers" / "exiftool"
OPT = Path("/opt")


def _build(dest: Path, perl: str) -> None:
    subprocess.run(
        ["make", "-s", "-C", str(LAYER_MAKEFILE_DIR), "build-ExifToolLayer"]
        + [f"ARTIFACTS_DIR={dest}", f"PERL_BUNDLE={perl}"],
        check=True,
        capture_output=True,
    )


def _host_version() -> str:
    version = (LAYER_MAKEFILE_DIR / "build" / "host" / "exiftool" / ".version").read_text()
    return version.strip()


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("layer")
    _build(dest, perl="no")
    return dest


def test_layer_puts_exiftool_where_the_lambda_settings_look_for_it(layer: Path) -> None:
    lambda_exiftool = settings_module._LAMBDA_EXIFTOOL.relative_to(OPT)
    assert (layer / lambda_exiftool).is_file()
    assert os.access(layer / lambda_exiftool, os.X_OK)
    assert (layer / lambda_exiftool.parent / "lib" / "Image" / "ExifTool.pm").is_file()
    assert not (layer / "perl").exists()  # outside the SAM build image no perl is bundled


def test_layer_exiftool_runs_with_the_host_perl_and_is_the_pinned_version(
    layer: Path, photo: Path
) -> None:
    exiftool = layer / "exiftool" / "exiftool"
    version = subprocess.run(
        ["perl", str(exiftool), "-ver"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert version == _host_version()
    assert float(version) >= 12.38  # the CVE floor in the design

    report = subprocess.run(
        ["perl", str(exiftool), "-j", "-G", str(photo)], check=True, capture_output=True
    )
    assert json.loads(report.stdout)[0]["EXIF:Model"] == "Canon EOS R5"


def test_bundled_perl_runs_the_layer_exiftool_from_the_layer_libraries(
    tmp_path: Path, photo: Path
) -> None:
    _build(tmp_path, perl="yes")
    perl = tmp_path / settings_module._LAMBDA_PERL.relative_to(OPT)
    assert perl.is_file()
    # the engine sets PERL5LIB=/opt/perl/lib; Lambda puts /opt/lib on LD_LIBRARY_PATH
    env = {
        "PATH": "/usr/bin:/bin",
        "PERL5LIB": str(tmp_path / "perl" / "lib"),
        "LD_LIBRARY_PATH": str(tmp_path / "lib"),
    }
    where = subprocess.run(
        [str(perl), "-MPOSIX", "-MEncode", "-e", 'print "$INC{q(POSIX.pm)}\\n$INC{q(Encode.pm)}"'],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    assert all(path.startswith(str(tmp_path / "perl" / "lib")) for path in where), where

    report = subprocess.run(
        [str(perl), str(tmp_path / "exiftool" / "exiftool"), "-j", "-G", str(photo)],
        check=True,
        capture_output=True,
        env=env,
    )
    assert json.loads(report.stdout)[0]["EXIF:Model"] == "Canon EOS R5"


def test_layer_carries_the_geolocation_database_and_names_a_place(layer: Path) -> None:
    database = layer / "exiftool" / "lib" / "Image" / "ExifTool" / "Geolocation.dat"
    assert database.stat().st_size > 1_000_000  # the cities of the world, not a stub
    found = subprocess.run(
        ["perl", str(layer / "exiftool" / "exiftool"), "-j", "-api", "geolocation=43.4633,11.8796"],
        check=True,
        capture_output=True,
    )
    place = json.loads(found.stdout)[0]
    assert (place["GeolocationCity"], place["GeolocationCountry"]) == ("Arezzo", "Italy")


def test_layer_carries_the_c2pa_library_for_the_functions_architecture(layer: Path) -> None:
    library = layer / "python" / "c2pa" / "libs" / "libc2pa_c.so"
    assert (layer / "python" / "c2pa" / "__init__.py").is_file()  # /opt/python is on sys.path
    assert library.read_bytes()[:4] == b"\x7fELF"
    assert library.read_bytes()[18] == 0xB7  # e_machine: AArch64, as template.yaml's arm64
    assert not list((layer / "python").rglob("*.rlib"))  # the unused static library is dropped
