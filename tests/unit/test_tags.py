"""Tag names and values callers may write: nothing that could become an ExifTool option."""

from __future__ import annotations

import pytest

from exif_service.domain.errors import UnsafeTag
from exif_service.domain.tags import MAX_VALUE_LENGTH, check_argument, check_value, parse_tag_name


@pytest.mark.parametrize(
    ("raw", "group", "name"),
    [
        ("Artist", None, "Artist"),
        ("EXIF:Artist", "EXIF", "Artist"),
        ("XMP-dc.Title", "XMP-dc", "Title"),
        ("IPTC:By-line", "IPTC", "By-line"),
    ],
)
def test_plain_group_and_tag_names_are_accepted(raw: str, group: str | None, name: str) -> None:
    tag = parse_tag_name(raw)
    assert (tag.group, tag.name) == (group, name)


@pytest.mark.parametrize(
    "raw",
    [
        "-o",
        "-all",
        "Comment=x",
        "Comment\n-w",
        "Comment\r",
        "Comment\x00",
        "a b",
        "EXIF:Artist<=/etc/passwd",
        "../x",
        "",
        "x" * 200,
        "1abc",
    ],
)
def test_names_that_could_become_options_are_refused(raw: str) -> None:
    with pytest.raises(UnsafeTag):
        parse_tag_name(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "FileName",
        "Directory",
        "HardLink",
        "SymLink",
        "TestName",
        "System:FileName",
        "File:Comment",
        "FilePermissions",
        "FileModifyDate",
        "filename",
    ],
)
def test_tags_that_move_link_or_redate_files_are_refused(raw: str) -> None:
    with pytest.raises(UnsafeTag):
        parse_tag_name(raw)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "x\n-o\n/tmp/pwned"])
def test_values_with_line_breaks_or_nul_are_refused(value: str) -> None:
    with pytest.raises(UnsafeTag):
        check_value("Comment", value)


def test_ordinary_values_pass_unchanged() -> None:
    value = "Jane Doe — © 2024, -all= <tag> ; | $(x)"
    assert check_value("Artist", value) == value


def test_overlong_values_are_refused() -> None:
    with pytest.raises(UnsafeTag):
        check_value("Comment", "x" * (MAX_VALUE_LENGTH + 1))


@pytest.mark.parametrize("arg", ["-ver\n-o", "\r", "\x00"])
def test_engine_arguments_must_stay_on_one_line(arg: str) -> None:
    with pytest.raises(UnsafeTag):
        check_argument(arg)


def test_refusal_message_does_not_echo_control_characters() -> None:
    with pytest.raises(UnsafeTag) as caught:
        parse_tag_name("Bad\nName")
    assert "\n" not in caught.value.message
