"""Both forms of a file's XMP from one ExifTool read, or none when there is any doubt.

A v1 extract keeps two readings of a file: the flat report (`exiftool -j -G`) and the XMP group
with its structures as objects (`exiftool -j -G -struct -XMP:all`), so that a later
`?struct=true` lookup can answer without the file. `exiftool -j -G -D -api struct=2` gives both
in one read: every tag as `{"id": ..., "val": ...}`, and in the XMP group each structure
(`History`, `RegionInfo`, `CreatorContactInfo`: an object, or a list holding objects) beside
the flattened tags of its fields (`HistoryAction`, `RegionName`, `CreatorCity`), whose ids are
the structure's id followed by the field path (`History` + `Action`, `Regions` + `RegionList`
+ `Name`).

The rule, applied by `split_read`:

- a structure goes to the structured form only; a flattened field tag to the flat form only;
  every other XMP tag to both, except that a list tag holding one item is that item in the flat
  form (`"Me"` where the structured form has `["Me"]`); every other group goes to the flat form
  as it was read;
- it is applied only when every part of the reading can be accounted for: each flattened tag
  names a field path of a structure read beside it and holds as many values as that path has
  leaves, every leaf of every structure has its flattened tag, no other tag's id starts with a
  structure's id, no list is empty or holds lists, no structure nests more than 64 levels,
  nothing outside XMP holds an object (some formats' readers, JSON, property lists and others,
  build structures of their own in this mode), and ExifTool reported no warning or error (this
  mode adds warnings of its own, such as a list that is not a structure, and only a file's
  first warning is printed, so any warning may hide one).

Anything else makes `split_read` return None, and the caller reads the file the two ways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# ExifTool options of the one read this module splits.
SPLIT_READ_ARGS = ("-j", "-G", "-D", "-api", "struct=2")

# Deeper structures than this are not split (XMP as written nests a dozen levels at most).
_MAX_DEPTH = 64


class _Doubt(Exception):
    """The reading holds something the rule does not account for."""


@dataclass(frozen=True)
class SplitRead:
    """One reading split in two, each shaped as ExifTool prints it: `Group:Tag` -> value."""

    flat: dict[str, Any]  # what `exiftool -j -G` prints
    structured_xmp: dict[str, Any] | None  # `-j -G -struct -XMP:all`; None without XMP


def split_read(record: Mapping[str, Any]) -> SplitRead | None:
    """The flat record and the structured XMP record of one `SPLIT_READ_ARGS` record, or None
    when the rule (see the module's docstring) cannot vouch for both."""
    try:
        return _split(record)
    except _Doubt:
        return None


def _split(record: Mapping[str, Any]) -> SplitRead:
    entries = _entries(record)
    structures = {
        key: (ident, value)
        for key, ident, value in entries
        if _is_xmp(key) and _holds_object(value)
    }
    fields = _field_paths(structures.values())
    prefixes = tuple(ident for ident, _ in structures.values())
    claimed: Counter[str] = Counter()
    flat: dict[str, Any] = {}
    structured: dict[str, Any] = {}
    for key, ident, value in entries:
        if not _is_xmp(key):
            if _holds_object(value) or _nested_list(value):
                raise _Doubt
            flat[key] = value
        elif key in structures:
            structured[key] = value
        elif isinstance(ident, str) and ident in fields:
            _claim(ident, value, fields[ident], claimed)
            flat[key] = value
        else:
            if not isinstance(ident, str) or ident.startswith(prefixes):
                raise _Doubt  # maybe a field whose path the structure does not show
            flat[key] = _flat_value(value)
            structured[key] = value
    if claimed.keys() != fields.keys():
        raise _Doubt  # a structure's leaf with no flattened tag of its own
    if "SourceFile" in record:
        flat = {"SourceFile": record["SourceFile"], **flat}
    has_xmp = any(_is_xmp(key) for key, _, _ in entries)
    return SplitRead(flat=flat, structured_xmp=structured if has_xmp else None)


def _entries(record: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, id, value) of each tag, in ExifTool's order."""
    entries = []
    for key, entry in record.items():
        if key == "SourceFile":
            continue
        if not isinstance(entry, dict) or "val" not in entry or ":" not in key:
            raise _Doubt
        if key in ("ExifTool:Warning", "ExifTool:Error"):
            raise _Doubt  # the first warning printed may hide one of this mode's own
        entries.append((key, entry.get("id"), entry["val"]))
    return entries


def _flat_value(value: Any) -> Any:
    """A plain XMP tag's value as the flat read prints it: a list of one is that one item."""
    if not isinstance(value, list):
        return value
    if not value or _nested_list(value):
        raise _Doubt
    return value[0] if len(value) == 1 else value


def _is_xmp(key: str) -> bool:
    return key.startswith("XMP:")


def _holds_object(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(item, dict) for item in value)
    )


def _nested_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, list | dict) for item in value)


def _field_paths(structures: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    """Each flattened tag id the structures imply, with the number of leaves on its path."""
    paths: Counter[str] = Counter()
    for ident, value in structures:
        if not isinstance(ident, str) or not ident:
            raise _Doubt
        mine: Counter[str] = Counter()
        _count_leaves(value, ident, mine)
        if not mine or paths.keys() & mine.keys():
            raise _Doubt  # an empty structure, or two structures claiming one tag id
        paths.update(mine)
    return dict(paths)


def _count_leaves(value: Any, path: str, counts: Counter[str]) -> None:
    # (an explicit stack: hostile XMP may nest deeply, and recursion has a limit)
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        node, at, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise _Doubt
        if isinstance(node, dict):
            for name, child in node.items():
                if not isinstance(name, str) or not name or ":" in name:
                    raise _Doubt
                stack.append((child, at + name, depth + 1))
        elif isinstance(node, list):
            if not node:
                raise _Doubt
            stack.extend((child, at, depth + 1) for child in node)
        else:
            counts[at] += 1


def _claim(ident: str, value: Any, leaves: int, claimed: Counter[str]) -> None:
    if claimed[ident]:
        raise _Doubt  # two tags for one field path
    if isinstance(value, list):
        if len(value) < 2 or _nested_list(value):
            raise _Doubt  # a field of one value reads as that value
        count = len(value)
    else:
        count = 1
    if count != leaves:
        raise _Doubt
    claimed[ident] = count
