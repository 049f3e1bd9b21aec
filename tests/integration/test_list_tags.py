"""List tags over HTTP: append adds to Keywords, Subject, Creator... without duplicates, and the
advanced editor's `{"add": [...], "remove": [...]}` form. moto for AWS, the real ExifTool."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser
from tests.integration.test_images_tools import (
    assert_clean_error,
    bearer,
    post_file,
)
from tests.support.list_tags import table
from tests.support.media import exiftool, make_bare, make_jpeg

from exif_service.domain.lists import _list_tags

ADVANCED = "/api/images/advanced-edit"


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """A JPEG whose IPTC and XMP keywords are [sunset, mountains], by Jane Doe."""
    path = make_jpeg(tmp_path / "tagged.jpg")
    exiftool(
        "-q",
        "-overwrite_original",
        "-IPTC:Keywords=sunset",
        "-IPTC:Keywords=mountains",
        "-XMP-dc:Subject=sunset",
        "-XMP-dc:Subject=mountains",
        "-XMP-dc:Creator=Jane Doe",
        "-XMP-dc:Title=Old title",
        str(path),
    )
    return path


def read_back(data: bytes, tmp_path: Path, suffix: str = "jpg") -> dict[str, Any]:
    """Every tag of a downloaded file, as the user's own `exiftool -a -G1 -j` shows it."""
    out = tmp_path / f"downloaded.{suffix}"
    out.write_bytes(data)
    record: dict[str, Any] = json.loads(exiftool("-a", "-G1", "-j", str(out)))[0]
    return record


def test_append_adds_keywords_without_duplicates_keeping_their_order(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    r = post_file(
        client,
        "/api/images/edit-exif",
        tagged.read_bytes(),
        bearer(pro_user),
        keywords="beach, Sunset, mountains",
        author="John Roe",
        title="New title",
        mode="append",
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path)
    assert tags["IPTC:Keywords"] == ["sunset", "mountains", "beach"]
    assert tags["XMP-dc:Subject"] == ["sunset", "mountains", "beach"]
    assert tags["XMP-dc:Creator"] == ["Jane Doe", "John Roe"]  # a list: added to
    assert tags["IFD0:Artist"] == "John Roe"  # one text: set
    assert tags["XMP-dc:Title"] == "New title"


def test_overwrite_replaces_the_keywords(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    r = post_file(
        client,
        "/api/images/edit-exif",
        tagged.read_bytes(),
        bearer(pro_user),
        keywords="beach",
        mode="overwrite",
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path)
    assert tags["IPTC:Keywords"] == "beach"
    assert tags["XMP-dc:Subject"] == "beach"
    assert "XMP-dc:Creator" not in tags


def test_advanced_edit_append_adds_a_plain_list_value(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    fields = {"Keywords": ["beach", "sunset"], "XMP-dc:Subject": "beach", "Title": "New"}
    r = post_file(
        client, ADVANCED, tagged.read_bytes(), bearer(pro_user), fields=json.dumps(fields)
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path)
    assert tags["IPTC:Keywords"] == ["sunset", "mountains", "beach"]
    assert tags["XMP-dc:Subject"] == ["sunset", "mountains", "beach"]
    assert tags["XMP-dc:Title"] == "New"


def test_advanced_edit_add_and_remove_items(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    fields = {
        "Keywords": {"add": ["beach", "sunset"], "remove": ["mountains"]},
        "XMP-dc:Subject": {"add": ["lake"]},
        "SupplementalCategories": {"add": ["Travel"]},
    }
    r = post_file(
        client, ADVANCED, tagged.read_bytes(), bearer(pro_user), fields=json.dumps(fields)
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path)
    assert tags["IPTC:Keywords"] == ["sunset", "beach"]
    # a removed keyword leaves every place of the field, as a replaced value does
    assert tags["XMP-dc:Subject"] == ["sunset", "lake"]
    assert tags["IPTC:SupplementalCategories"] == "Travel"


def test_removing_an_absent_item_changes_nothing(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    fields = {"IPTC:Keywords": {"remove": ["not-there"]}}
    r = post_file(
        client, ADVANCED, tagged.read_bytes(), bearer(pro_user), fields=json.dumps(fields)
    )
    assert r.status_code == 200, r.text
    assert read_back(r.content, tmp_path)["IPTC:Keywords"] == ["sunset", "mountains"]


def test_overwrite_with_add_starts_from_an_empty_list(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    fields = {"XMP-dc:Subject": {"add": ["beach"]}}
    r = post_file(
        client,
        ADVANCED,
        tagged.read_bytes(),
        bearer(pro_user),
        fields=json.dumps(fields),
        mode="overwrite",
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path)
    assert tags["XMP-dc:Subject"] == "beach"
    assert "IPTC:Keywords" not in tags


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({"Keywords": {"add": "beach"}}, "Keywords"),
        ({"Keywords": {"put": ["beach"]}}, "Keywords"),
        ({"Keywords": {}}, "Keywords"),
        ({"Keywords": {"add": [], "remove": []}}, "Keywords"),
        ({"Keywords": {"add": [1]}}, "Keywords"),
        ({"Keywords": {"add": [" "]}}, "Keywords"),
        ({"IPTC:Keywords": {"add": ["a"], "remove": ["a"]}}, "IPTC:Keywords"),
        ({"XMP-dc:Subject": {"add": ["a\n-FileName=x"]}}, "XMP-dc:Subject"),
        ({"Title": {"add": ["x"]}}, "Title"),  # not a list tag
        ({"ISO": {"add": ["100"]}}, "ISO"),  # `+=` would shift the number
        ({"NoSuchTag": {"add": ["x"]}}, "NoSuchTag"),
    ],
)
def test_bad_add_remove_shapes_are_400_naming_the_tag(
    client: TestClient, pro_user: KeyedUser, tagged: Path, edit: dict[str, Any], named: str
) -> None:
    r = post_file(client, ADVANCED, tagged.read_bytes(), bearer(pro_user), fields=json.dumps(edit))
    assert named in assert_clean_error(r, 400)["message"]


def test_bulk_advanced_edit_adds_to_each_file(
    client: TestClient, pro_user: KeyedUser, tagged: Path, tmp_path: Path
) -> None:
    r = client.post(
        "/api/images/advanced-edit-bulk",
        headers=bearer(pro_user),
        files=[
            ("files", ("a.jpg", tagged.read_bytes())),
            ("files", ("b.jpg", tagged.read_bytes())),
        ],
        data={"fields": json.dumps({"Keywords": {"add": ["beach"]}}), "mode": "append"},
    )
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        for name in zf.namelist():
            tags = read_back(zf.read(name), tmp_path)
            assert tags["IPTC:Keywords"] == ["sunset", "mountains", "beach"]


def test_png_keywords_are_added_to(client: TestClient, pro_user: KeyedUser, tmp_path: Path) -> None:
    path = make_bare("png", tmp_path / "a.png")
    exiftool("-q", "-overwrite_original", "-XMP-dc:Subject=sunset", str(path))
    r = post_file(
        client,
        "/api/images/edit-exif",
        path.read_bytes(),
        bearer(pro_user),
        upload_name="a.png",
        keywords="beach, sunset",
    )
    assert r.status_code == 200, r.text
    assert read_back(r.content, tmp_path, "png")["XMP-dc:Subject"] == ["sunset", "beach"]


def test_movie_keywords_text_gains_the_new_words(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    path = make_bare("mp4", tmp_path / "a.mp4")
    exiftool("-q", "-overwrite_original", "-Keys:Keywords=sunset, mountains", str(path))
    r = post_file(
        client,
        "/api/images/edit-exif",
        path.read_bytes(),
        bearer(pro_user),
        upload_name="a.mp4",
        keywords="beach, Mountains",
    )
    assert r.status_code == 200, r.text
    tags = read_back(r.content, tmp_path, "mp4")
    assert tags["Keys:Keywords"] == "sunset, mountains, beach"
    assert tags["ItemList:Keyword"] == "beach, Mountains"  # it had none: the words as given
    assert tags["XMP-dc:Subject"] == ["beach", "Mountains"]


def test_list_tag_table_is_the_pinned_exiftools() -> None:
    """Regenerate with `python -m tests.support.list_tags` after an ExifTool upgrade."""
    committed = _list_tags()
    made = {line.lower() for line in table().splitlines() if line and not line.startswith("#")}
    assert committed == made
