"""Rules for tag names and values that callers ask us to write.

In `-stay_open` mode ExifTool reads one argument per line, so a line break or NUL inside a
name or value would start a new option. Names are therefore restricted to `Group:Tag` /
`Group.Tag` made of letters, digits, `-` and `_`, values may not contain line breaks or NUL,
and tags that move, link or re-permission files are refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exif_service.domain.errors import UnsafeTag

_NAME = re.compile(r"^(?:[A-Za-z0-9_-]+[:.]){0,2}[A-Za-z][A-Za-z0-9_-]*$")
_FORBIDDEN_CHARS = ("\r", "\n", "\x00")
MAX_VALUE_LENGTH = 64 * 1024

# Tags that make ExifTool rename, move, link or re-date the file itself, or read another
# file from the server's disk (Geotag's value is the path of a GPS track log).
_FILE_SYSTEM_TAGS = frozenset(
    name.lower()
    for name in (
        "FileName",
        "Directory",
        "HardLink",
        "SymLink",
        "TestName",
        "FilePermissions",
        "FileModifyDate",
        "FileAccessDate",
        "FileCreateDate",
        "FileInodeChangeDate",
        "FileUserID",
        "FileGroupID",
        "FileAttributes",
        "MDItemFSCreationDate",
        "MDItemFSContentChangeDate",
        "MDItemUserTags",
        "MDItemFSLabel",
        "XAttrQuarantine",
        "Geotag",
        # `-NAME=VALUE` with these names is an ExifTool option that imports tags from the
        # file at VALUE (-j=, -json=, -csv=, -TagsFromFile=), not a tag assignment
        "j",
        "json",
        "csv",
        "TagsFromFile",
        "AllTagsFromFile",
        "AddTagsFromFile",
    )
)


@dataclass(frozen=True)
class TagName:
    """A validated tag name in ExifTool's `Group:Tag` spelling (group optional)."""

    group: str | None
    name: str

    @property
    def arg(self) -> str:
        return f"{self.group}:{self.name}" if self.group else self.name

    def __str__(self) -> str:
        return self.arg


def parse_tag_name(raw: str) -> TagName:
    """Validate a caller's tag name (`Tag`, `Group:Tag` or `Group.Tag`) or raise UnsafeTag."""
    if not isinstance(raw, str) or not raw or len(raw) > 128 or not _NAME.match(raw):
        raise UnsafeTag(f"Invalid tag name: {_shown(raw)}")
    parts = re.split(r"[:.]", raw)
    name = parts[-1]
    group = ":".join(parts[:-1]) or None
    if name.lower() in _FILE_SYSTEM_TAGS or (group or "").lower() in {"file", "system"}:
        raise UnsafeTag(f"Tag cannot be written: {raw}")
    return TagName(group=group, name=name)


def check_value(tag: str, value: str) -> str:
    """Refuse values that would break out of their argument line."""
    if any(ch in value for ch in _FORBIDDEN_CHARS):
        raise UnsafeTag(f"Value for {tag} may not contain line breaks or NUL characters")
    if len(value) > MAX_VALUE_LENGTH:
        raise UnsafeTag(f"Value for {tag} is longer than {MAX_VALUE_LENGTH} characters")
    return value


def check_argument(arg: str) -> str:
    """Last line of defence in the engine: one argument must stay one line."""
    if any(ch in arg for ch in _FORBIDDEN_CHARS):
        raise UnsafeTag("An argument may not contain line breaks or NUL characters")
    return arg


def _shown(raw: object) -> str:
    text = str(raw)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:64]
