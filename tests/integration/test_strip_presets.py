"""Strip presets and keep-lists on JPEG, PNG, HEIC and MP4, read back by ExifTool itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.media import PRIVACY_MOVIE as MOVIE
from tests.support.media import PRIVACY_STILL as STILL
from tests.support.media import exiftool, make_bare
from tests.support.v1 import V1Stack, upload

from exif_service.domain.privacy import Category, classify

FORMATS = ("jpeg", "png", "heic", "mp4")
EXT = {"jpeg": "jpg", "png": "png", "heic": "heic", "mp4": "mp4"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("presets")
    made: dict[str, Path] = {}
    for kind in FORMATS:
        path = make_bare(kind, folder / f"sample.{EXT[kind]}")
        exiftool(
            "-q", "-q", "-m", "-overwrite_original", *(MOVIE if kind == "mp4" else STILL), str(path)
        )
        made[kind] = path
    return made


def _tags(data: bytes, folder: Path, ext: str) -> list[tuple[str, str, str, Any]]:
    path = folder / f"out.{ext}"
    path.write_bytes(data)
    out = exiftool("-j", "-a", "-G0:1", str(path))
    pairs = json.loads(out, object_pairs_hook=lambda p: p)[0]
    tags = []
    for key, value in pairs:
        parts = key.split(":")
        if len(parts) == 3:
            tags.append((parts[0], parts[1], parts[2], value))
        elif len(parts) == 2:
            tags.append((parts[0], parts[0], parts[1], value))
    return tags


def _categories(tags: list[tuple[str, str, str, Any]]) -> set[Category]:
    found = set()
    for group0, group1, name, value in tags:
        if str(value).startswith("0000:00:00"):
            continue  # a movie header's capture time, zeroed by the strip: no time at all
        rule = classify(group0, group1, name)
        if rule is not None:
            found.add(rule.category)
    return found


def _names(tags: list[tuple[str, str, str, Any]]) -> set[str]:
    return {f"{g1}:{name}" for _, g1, name, _ in tags}


def _strip(stack: V1Stack, sample: Path, tmp_path: Path, **params: str) -> list[Any]:
    r = upload(
        stack.client,
        sample,
        key=stack.user.key,
        endpoint="/api/v1/remove",
        name=sample.name,
        params=params,
    )
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True
    data = stack.client.get(r.json()["downloadUrl"]).content
    return _tags(data, tmp_path, sample.suffix.lstrip("."))


@pytest.mark.parametrize("kind", FORMATS)
def test_location_preset_removes_only_where_it_was_made(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    tags = _strip(stack, samples[kind], tmp_path, preset="location")
    assert Category.LOCATION not in _categories(tags)
    assert not any("GPS" in name or name == "City" for _, _, name, _ in tags if _ != "Composite")
    names = _names(tags)
    assert "XMP-dc:Creator" in names  # authorship stays
    assert "XMP-iptcExt:PersonInImage" in names  # so do people: only location goes
    assert {Category.IDENTITY, Category.PEOPLE, Category.HISTORY} <= _categories(tags)


@pytest.mark.parametrize("kind", FORMATS)
def test_sensitive_preset_keeps_authorship_and_settings(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    tags = _strip(stack, samples[kind], tmp_path, preset="sensitive")
    gone = {Category.LOCATION, Category.DEVICE, Category.PEOPLE, Category.FREE_TEXT}
    assert not gone & _categories(tags), _categories(tags)
    assert Category.HISTORY not in _categories(tags)
    names = _names(tags)
    assert "XMP-dc:Creator" in names
    if kind != "mp4":
        assert {"IFD0:Artist", "ExifIFD:DateTimeOriginal", "ExifIFD:FNumber"} <= names
    values = json.dumps([v for *_, v in tags])
    for secret in ("SN123456", "Bob Roe", "met Bob here", "EditorPro", "Paris"):
        assert secret not in values


@pytest.mark.parametrize("kind", FORMATS)
def test_all_with_a_keep_list_keeps_only_what_was_named(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    tags = _strip(stack, samples[kind], tmp_path, preset="all", keep="XMP-dc:Creator")
    assert _categories(tags) == {Category.IDENTITY}
    assert "XMP-dc:Creator" in _names(tags)


def test_keep_none_is_still_the_all_preset(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path
) -> None:
    tags = _strip(stack, samples["jpeg"], tmp_path, keep="none")
    assert not _categories(tags)
    assert not any(g0 == "ICC_Profile" for g0, *_ in tags)


def test_preset_and_keep_come_from_a_form_field_or_json_too(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path
) -> None:
    r = stack.client.post(
        "/api/v1/remove",
        headers={"X-API-Key": stack.user.key},
        files={"file": ("a.jpg", samples["jpeg"].read_bytes())},
        data={"preset": "location", "keep": "City"},
    )
    assert r.status_code == 200, r.text
    tags = _tags(stack.client.get(r.json()["downloadUrl"]).content, tmp_path, "jpg")
    assert "XMP-photoshop:City" in _names(tags)
    assert not any(name.startswith("GPSLat") for _, g1, name, _ in tags if g1 == "GPS")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"preset": "everything"}, "everything"), ({"keep": "Artist;rm -rf"}, "Artist;rm")],
)
def test_a_bad_preset_or_keep_list_is_a_400_naming_it_and_costs_nothing(
    stack: V1Stack, samples: dict[str, Path], params: dict[str, str], named: str
) -> None:
    r = upload(
        stack.client,
        samples["jpeg"],
        key=stack.user.key,
        endpoint="/api/v1/remove",
        params=params,
    )
    assert r.status_code == 400
    assert r.json()["success"] is False and named in r.json()["error"]
    images = stack.client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {stack.user.key}"},
        files={"file": ("a.jpg", samples["jpeg"].read_bytes())},
        data=params,
    )
    assert images.status_code == 400
    assert images.json()["ok"] is False and named in images.json()["message"]


def test_strip_exif_takes_the_preset_as_a_form_field(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path
) -> None:
    r = stack.client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {stack.user.key}"},
        files={"file": ("a.png", samples["png"].read_bytes())},
        data={"preset": "location"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-metadata-verified"] == "true"
    tags = _tags(r.content, tmp_path, "png")
    assert Category.LOCATION not in _categories(tags)
    assert "IFD0:Artist" in _names(tags)


def test_the_openapi_document_describes_presets_keep_lists_and_the_batch_body(
    stack: V1Stack,
) -> None:
    paths = stack.client.get("/openapi.json").json()["paths"]
    remove = paths["/api/v1/remove"]["post"]["requestBody"]["content"]
    form = remove["multipart/form-data"]["schema"]["properties"]
    assert form["preset"]["enum"] == ["safe", "all", "location", "sensitive"]
    assert "keep" in form and "file" in form
    assert remove["application/json"]["schema"]["required"] == ["url"]
    strip = paths["/api/images/strip-exif"]["post"]["requestBody"]["content"]
    assert {"file", "preset", "keep"} <= set(strip["multipart/form-data"]["schema"]["properties"])
    bulk = paths["/api/images/strip-exif-bulk"]["post"]["requestBody"]["content"]
    assert bulk["multipart/form-data"]["schema"]["properties"]["files"]["type"] == "array"
    batch = paths["/api/v1/extract/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["properties"]["urls"]["maxItems"] == 20
