"""List tags: which tags hold a list of items, and how a write changes one.

ExifTool's tag tables say which tags are lists (IPTC `List`, XMP `Bag` and `Seq`); the table in
`list_tags.txt` is made from the pinned ExifTool's own tables (tests/support/list_tags.py, and a
test keeps the two in agreement), so this module never guesses from a tag's name.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib.resources import files

from exif_service.domain.tags import TagName


class ListOp(StrEnum):
    SET = "set"  # the tag holds exactly the given values afterwards
    ADD = "add"  # a list gains the items it lacks; its other items stay, in their order
    REMOVE = "remove"  # a list loses the items, wherever they are in it


@cache
def _list_tags() -> frozenset[str]:
    text = files("exif_service.domain").joinpath("list_tags.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def is_list_tag(tag: TagName) -> bool:
    """Whether ExifTool keeps `tag` (as named: `Keywords`, `IPTC:Keywords`, `XMP-dc:Subject`)
    as a list; a name without a group means the tag ExifTool writes for it."""
    key = f"{tag.group.split(':')[-1]}:{tag.name}" if tag.group else tag.name
    return key.lower() in _list_tags()


def split_words(values: list[str] | tuple[str, ...]) -> list[str]:
    """The items of a list kept as comma-separated text (`"a, b"` -> `a`, `b`), in order."""
    return [word.strip() for value in values for word in value.split(",") if word.strip()]


def merge_words(existing: list[str], added: list[str]) -> list[str]:
    """`existing` followed by the words of `added` it lacks (case-insensitively), in order."""
    seen = {word.casefold() for word in existing}
    merged = list(existing)
    for word in added:
        if word.casefold() not in seen:
            seen.add(word.casefold())
            merged.append(word)
    return merged
