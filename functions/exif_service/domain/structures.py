"""Both forms of a file's XMP from one ExifTool read, or none when there is any doubt.

A v1 extract keeps two readings of a file: the flat report (`exiftool -j -G`) and the XMP group
with its structures as objects (`exiftool -j -G -struct -XMP:all`), so that a later
`?struct=true` lookup can answer without the file. `exiftool -j -G0:4 -D -api struct=2` (all
of `SPLIT_READ_ARGS` below) gives both in one read: every tag as `{"id": ..., "val": ...}`,
and in the XMP group each structure (`History`, `RegionInfo`, `CreatorContactInfo`: an object,
or a list holding objects) beside the flattened tags of its fields (`HistoryAction`,
`RegionName`, `CreatorCity`), whose ids are the structure's id followed by the field path
(`History` + `Action`, `Regions` + `RegionList` + `Name`).

The rule, applied by `split_read`:

- a structure goes to the structured form only; a flattened field tag to the flat form only;
  every other XMP tag to both, except that a list tag holding one item is that item in the flat
  form (`"Me"` where the structured form has `["Me"]`); every other group goes to the flat form
  as it was read; of duplicates (`Copy1`, `Copy2`...), each form keeps the ones `-G` prints;
- it is applied only when every part of the reading can be accounted for:
  - each flattened tag names a field path of a structure printed ahead of it and holds as many
    values as that path has leaves; every leaf of every structure has its flattened tag; no
    other tag's id continues a structure's id with one of its field names;
  - no duplicate hides behind a field or a structure (`-struct` would print it in the field's
    place), and XMP duplicates of a name include the one with priority (an XMP-only read picks
    among them by priority, which the reading does not show);
  - no list is empty or holds lists, no structure is empty or nests more than 64 levels;
  - nothing outside XMP holds an object (some formats' readers, JSON, property lists and
    others, build structures of their own in this mode), but JUMBF's: the objects of a C2PA
    manifest's assertions stand beside their flattened fields, as in XMP, and are left out of
    the flat form when no other tag shares their name;
  - ExifTool reported no error, nor a warning on a file with XMP (this mode adds warnings of
    its own about XMP, such as a list that is not a structure, and only a file's first warning
    is printed, so any warning may hide one).

Anything else makes `split_read` return None, and the caller reads the file the two ways.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# ExifTool options of the one read this module splits. `-G0:4` names duplicates by their copy
# number (`XMP:Copy1:Rating`), where `-G` would print only one of them: the split needs to see
# the ones it hides. `-G0:4` would also sort each copy number apart; `--sort` with the
# `Sort=Group0` that `-G` sets keeps the order `-G` prints.
SPLIT_READ_ARGS = ("-j", "-G0:4", "--sort", "-api", "Sort=Group0", "-D", "-api", "struct=2")

# Deeper structures than this are not split (XMP as written nests a dozen levels at most).
_MAX_DEPTH = 64
_COPY = re.compile(r"Copy[0-9]+")


class _Doubt(Exception):
    """The reading holds something the rule does not account for."""


@dataclass(frozen=True)
class SplitRead:
    """One reading split in two, each shaped as ExifTool prints it: `Group:Tag` -> value."""

    flat: dict[str, Any]  # what `exiftool -j -G` prints
    structured_xmp: dict[str, Any] | None  # `-j -G -struct -XMP:all`; None without XMP


class _Tag(NamedTuple):
    key: str  # `Group:Tag`, as `-j -G` names it
    xmp: bool  # in the XMP group
    copy: bool  # a duplicate: another tag of its name has priority
    ident: Any
    value: Any


def split_read(record: Mapping[str, Any]) -> SplitRead | None:
    """The flat record and the structured XMP record of one `SPLIT_READ_ARGS` record, or None
    when the rule (see the module's docstring) cannot vouch for both."""
    try:
        return _split(record)
    except _Doubt:
        return None


def _split(record: Mapping[str, Any]) -> SplitRead:
    tags = _tags(record)
    if any(tag.xmp for tag in tags) and any(tag.key == "ExifTool:Warning" for tag in tags):
        raise _Doubt  # the first warning printed may hide one of this mode's own, on XMP
    shown, hidden = _as_printed(_without_extra_objects(tags))
    structures = {t.key: t for t in shown if t.xmp and _holds_object(t.value)}
    fields = _field_paths(structures.values())
    _check_duplicates(shown, hidden, structures, fields)
    starts = [_starts(structure) for structure in structures.values()]
    claimed: Counter[str] = Counter()
    flat: dict[str, Any] = {}
    structured: dict[str, Any] = {}
    for tag in shown:
        if not tag.xmp:
            if _holds_object(tag.value) or _nested_list(tag.value):
                raise _Doubt
            flat[tag.key] = tag.value
        elif tag.key in structures:
            structured[tag.key] = tag.value
        elif tag.ident in fields:
            leaves, owner = fields[tag.ident]
            if owner not in structured:
                raise _Doubt  # ExifTool prints a structure ahead of its fields
            _claim(tag, leaves, claimed)
            flat[tag.key] = tag.value
        else:
            _not_a_field(tag, starts)
            flat[tag.key] = _flat_value(tag.value)
            structured[tag.key] = tag.value
    if claimed.keys() != fields.keys():
        raise _Doubt  # a structure's leaf with no flattened tag of its own
    if "SourceFile" in record:
        flat = {"SourceFile": record["SourceFile"], **flat}
    has_xmp = any(tag.xmp for tag in shown)
    return SplitRead(flat=flat, structured_xmp=structured if has_xmp else None)


def _tags(record: Mapping[str, Any]) -> list[_Tag]:
    """Each tag of the record, in ExifTool's order."""
    tags = []
    for key, entry in record.items():
        if key == "SourceFile":
            continue
        parts = key.split(":")
        if not isinstance(entry, dict) or "val" not in entry:
            raise _Doubt
        if len(parts) == 3 and _COPY.fullmatch(parts[1]):
            group, copy, name = parts[0], True, parts[2]
        elif len(parts) == 2:
            group, copy, name = parts[0], False, parts[1]
        else:
            raise _Doubt
        if group == "ExifTool" and name == "Error":
            raise _Doubt
        tags.append(_Tag(f"{group}:{name}", group == "XMP", copy, entry.get("id"), entry["val"]))
    return tags


def _without_extra_objects(tags: list[_Tag]) -> list[_Tag]:
    """The tags but the objects this mode adds in JUMBF (the C2PA manifest's JSON and CBOR
    assertions: their reader prints each object beside the flattened tags of its fields, as
    XMP does, where the flat read prints only the latter). Any other group holding an object,
    or one of those objects sharing its name with another tag, is beyond the rule."""
    extra = [tag for tag in tags if tag.key.startswith("JUMBF:") and _holds_object(tag.value)]
    if not extra:
        return tags
    if any(
        not all(isinstance(item, dict) for item in tag.value)
        for tag in extra
        if isinstance(tag.value, list)
    ):
        raise _Doubt  # objects and values in one list: the flat read keeps the values
    names = {tag.key.split(":", 1)[1] for tag in extra}
    kept = [tag for tag in tags if not (tag.key.startswith("JUMBF:") and _holds_object(tag.value))]
    if any(tag.key.split(":", 1)[1] in names for tag in kept):
        raise _Doubt  # one name for an object and a tag: which one has priority?
    return kept


def _as_printed(tags: list[_Tag]) -> tuple[list[_Tag], list[_Tag]]:
    """The tags `-j -G` prints and the ones it leaves out: a duplicate is left out when the
    tag with priority is in its group, or when one of its name was printed in the group."""
    primaries = {tag.key for tag in tags if not tag.copy}
    shown: list[_Tag] = []
    hidden: list[_Tag] = []
    printed: set[str] = set()
    for tag in tags:
        if tag.key in printed or (tag.copy and tag.key in primaries):
            hidden.append(tag)
        else:
            printed.add(tag.key)
            shown.append(tag)
    return shown, hidden


def _check_duplicates(
    shown: list[_Tag],
    hidden: list[_Tag],
    structures: Mapping[str, _Tag],
    fields: Mapping[str, tuple[int, str]],
) -> None:
    # `-struct` drops the flattened fields and may print in their place a duplicate they hid
    masking = structures.keys() | {tag.key for tag in shown if tag.xmp and tag.ident in fields}
    if any(tag.xmp and tag.key in masking for tag in hidden):
        raise _Doubt
    # an XMP-only read picks the one with priority among XMP duplicates; which one that is,
    # where the full read's priority went to another group, the reading does not say
    xmp = [tag for tag in (*shown, *hidden) if tag.xmp]
    copies = Counter(tag.key for tag in xmp if tag.copy)
    if copies:
        by_key = Counter(tag.key for tag in xmp)
        if any(by_key[key] > 1 and count == by_key[key] for key, count in copies.items()):
            raise _Doubt


def _not_a_field(tag: _Tag, starts: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """A tag that no structure's field path names must not look like one either: its id may
    not continue a structure's id with one of that structure's field names."""
    if not isinstance(tag.ident, str):
        raise _Doubt
    for ident, names in starts:
        if tag.ident.startswith(ident) and tag.ident[len(ident) :].startswith(names):
            raise _Doubt


def _starts(structure: _Tag) -> tuple[str, tuple[str, ...]]:
    """A structure's id and the names of its top fields."""
    items = structure.value if isinstance(structure.value, list) else [structure.value]
    names = {name for item in items if isinstance(item, dict) for name in item}
    return structure.ident, tuple(names)


def _flat_value(value: Any) -> Any:
    """A plain XMP tag's value as the flat read prints it: a list of one is that one item."""
    if not isinstance(value, list):
        return value
    if not value or _nested_list(value):
        raise _Doubt
    return value[0] if len(value) == 1 else value


def _holds_object(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(item, dict) for item in value)
    )


def _nested_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, list | dict) for item in value)


def _field_paths(structures: Iterable[_Tag]) -> dict[str, tuple[int, str]]:
    """Each flattened tag id the structures imply: the number of leaves on its path, and the
    structure's key."""
    paths: dict[str, tuple[int, str]] = {}
    for structure in structures:
        if not isinstance(structure.ident, str) or not structure.ident:
            raise _Doubt
        mine: Counter[str] = Counter()
        _count_leaves(structure.value, structure.ident, mine)
        if not mine or paths.keys() & mine.keys():
            raise _Doubt  # an empty structure, or two structures claiming one tag id
        paths.update((ident, (count, structure.key)) for ident, count in mine.items())
    return paths


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


def _claim(tag: _Tag, leaves: int, claimed: Counter[str]) -> None:
    if claimed[tag.ident]:
        raise _Doubt  # two tags for one field path
    if isinstance(tag.value, list):
        if len(tag.value) < 2 or _nested_list(tag.value):
            raise _Doubt  # a field of one value reads as that value
        count = len(tag.value)
    else:
        count = 1
    if count != leaves:
        raise _Doubt
    claimed[tag.ident] = count
