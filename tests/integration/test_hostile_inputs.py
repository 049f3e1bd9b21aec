"""Hostile files and names through every v1 endpoint: a 4xx or a partial report, never a 500,
a hang, or a name that reaches ExifTool or the file system."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.media import make_jpeg, make_photo
from tests.support.v1 import V1Stack, upload, v1_stack

ENDPOINTS = ["/api/v1/extract", "/api/v1/remove"]


@pytest.fixture(scope="module")
def stack() -> Iterator[V1Stack]:
    with v1_stack() as built:
        yield built


@pytest.fixture(scope="module")
def photo_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_photo(tmp_path_factory.mktemp("hostile") / "p.jpg").read_bytes()


def _png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG header claiming 10 gigapixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_truncated_jpeg_gets_a_4xx_or_a_partial_report(
    stack: V1Stack, photo_bytes: bytes, endpoint: str, cut: float
) -> None:
    data = photo_bytes[: int(len(photo_bytes) * cut)]
    r = upload(stack.client, data, key=stack.user.key, endpoint=endpoint)
    assert r.status_code in {200, 400, 415}, r.text
    if r.status_code == 200 and endpoint == "/api/v1/extract":
        assert r.json()["metadata"]["File"]["Type"] == "image/jpeg"


def test_jpeg_header_alone_is_handled(stack: V1Stack) -> None:
    r = upload(stack.client, b"\xff\xd8\xff\xe0", key=stack.user.key)
    assert r.status_code in {200, 400, 415}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_zero_byte_file_is_400(stack: V1Stack, endpoint: str) -> None:
    r = upload(stack.client, b"", key=stack.user.key, endpoint=endpoint)
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "The file is empty."}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_text_named_jpg_is_415(stack: V1Stack, endpoint: str) -> None:
    r = upload(stack.client, b"#!/bin/sh\nrm -rf /\n", key=stack.user.key, endpoint=endpoint)
    assert r.status_code == 415


def test_decompression_bomb_png_is_described_not_decoded(stack: V1Stack) -> None:
    r = upload(stack.client, _png_bomb(), key=stack.user.key, name="bomb.png")
    assert r.status_code == 200, r.text
    png = r.json()["metadata"]["PNG"]
    assert (png["ImageWidth"], png["ImageHeight"]) == (100_000, 100_000)


def test_decompression_bomb_png_through_remove_and_download(stack: V1Stack) -> None:
    r = upload(
        stack.client, _png_bomb(), key=stack.user.key, endpoint="/api/v1/remove", name="bomb.png"
    )
    assert r.status_code in {200, 415}, r.text
    if r.status_code == 200:
        cleaned = stack.client.get(r.json()["downloadUrl"])
        assert cleaned.status_code == 200
        assert cleaned.content.startswith(b"\x89PNG")
        assert len(cleaned.content) < 100_000


@pytest.mark.parametrize(
    "name",
    [
        "-all=.jpg",
        "-o.jpg",
        "a|b.jpg",
        "$(touch pwned).jpg",
        "`id`.jpg",
        "; rm -rf ~.jpg",
        "line\nbreak.jpg",
        "carriage\rreturn.jpg",
        "nul\x00byte.jpg",
        "../../etc/passwd.jpg",
        "..\\..\\windows\\win.ini.jpg",
        "x" * 1000 + ".jpg",
        "-",
        ".jpg",
        "{ready1}.jpg",
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_hostile_file_names_are_only_ever_shown_back(
    stack: V1Stack, photo_bytes: bytes, endpoint: str, name: str, tmp_path: Path
) -> None:
    r = upload(stack.client, photo_bytes, key=stack.user.key, endpoint=endpoint, name=name)
    assert r.status_code == 200, r.text
    shown = r.json()["fileName"]
    assert "\n" not in shown and "\r" not in shown and "\x00" not in shown
    assert "/" not in shown and "\\" not in shown
    assert len(shown) <= 255
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()
    if endpoint == "/api/v1/extract":
        assert r.json()["metadata"]["exif"]["Make"] == "Canon"
        assert r.json()["metadata"]["File"]["Name"] == shown
    else:
        cleaned = stack.client.get(r.json()["downloadUrl"])
        assert cleaned.status_code == 200
        assert cleaned.content[:2] == b"\xff\xd8"
        disposition = cleaned.headers["content-disposition"]
        assert "\n" not in disposition and "\r" not in disposition


def test_metadata_values_that_look_like_options_are_just_data(
    stack: V1Stack, tmp_path: Path
) -> None:
    from tests.support.media import exiftool

    photo = make_jpeg(tmp_path / "p.jpg")
    exiftool(
        "-q",
        "-overwrite_original",
        "-Comment={ready1}",
        "-EXIF:Artist=-o",
        "-XMP-dc:Title=-execute",
        str(photo),
    )
    r = upload(stack.client, photo, key=stack.user.key)
    assert r.status_code == 200
    metadata = r.json()["metadata"]
    assert metadata["File"]["Comment"] == "{ready1}"
    assert metadata["exif"]["Artist"] == "-o"
    again = upload(stack.client, photo, key=stack.user.key)  # the pool is still in step
    assert again.json()["metadata"]["exif"]["Artist"] == "-o"


def test_polyglot_jpeg_with_trailing_html_is_cleaned_of_the_trailer(
    stack: V1Stack, photo_bytes: bytes
) -> None:
    data = photo_bytes + b"<html><script>alert(1)</script></html>"
    r = upload(stack.client, data, key=stack.user.key, endpoint="/api/v1/remove")
    assert r.status_code == 200
    cleaned = stack.client.get(r.json()["downloadUrl"]).content
    assert b"<script>" not in cleaned
