"""Which tags are lists (ExifTool's tables), and what append mode does to an assignment."""

from __future__ import annotations

import pytest

from exif_service.domain.errors import BadRequest
from exif_service.domain.fields import (
    EDIT_FIELDS,
    Assignment,
    advanced_assignments,
    appended,
    form_assignments,
)
from exif_service.domain.lists import ListOp, is_list_tag, merge_words, split_words
from exif_service.domain.tags import parse_tag_name


@pytest.mark.parametrize(
    ("name", "is_list"),
    [
        ("Keywords", True),  # IPTC's, which ExifTool writes for the bare name
        ("IPTC:Keywords", True),
        ("IPTC.SupplementalCategories", True),
        ("XMP-dc:Subject", True),
        ("xmp:subject", True),
        ("Creator", True),
        ("By-line", True),
        ("Title", False),
        ("Artist", False),
        ("ISO", False),  # EXIF's number, though XMP-exif:ISO is a list
        ("XMP-exif:ISO", True),
        ("XMP:Keywords", False),  # XMP-pdf:Keywords is one text
        ("Keys:Keywords", False),
    ],
)
def test_list_tags_are_exiftools(name: str, is_list: bool) -> None:
    assert is_list_tag(parse_tag_name(name)) is is_list


def test_append_adds_to_list_tags_and_sets_the_rest() -> None:
    form = form_assignments(EDIT_FIELDS, {"keywords": "a, b", "author": "Jane"})
    ops = {str(a.tag): appended(a).op for a in form}
    assert ops["IPTC:Keywords"] is ListOp.ADD and ops["XMP-dc:Creator"] is ListOp.ADD
    assert ops["EXIF:Artist"] is ListOp.SET
    assert ops["Keys:Keywords"] is ListOp.ADD  # one comma-separated text, merged
    deletion = Assignment(parse_tag_name("Keywords"), ())
    assert appended(deletion).op is ListOp.SET


def test_add_remove_object_becomes_one_list_edit() -> None:
    [edit] = advanced_assignments({"Keywords": {"add": ["x", "x", "y"], "remove": ["z"]}})
    assert (edit.op, edit.values, edit.removed) == (ListOp.ADD, ("x", "y"), ("z",))
    with pytest.raises(BadRequest, match="Title is not a list tag"):
        advanced_assignments({"Title": {"add": ["x"]}})


def test_comma_words_merge_without_repeats() -> None:
    assert split_words(["a, b", " c ,"]) == ["a", "b", "c"]
    assert merge_words(["a", "B"], ["b", "c", "c"]) == ["a", "B", "c"]
