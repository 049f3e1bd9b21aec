"""The list-tag table (functions/exif_service/domain/list_tags.txt), made from the pinned ExifTool.

Regenerate after an ExifTool upgrade (a test compares the committed table with this output):
    .venv/bin/python -m tests.support.list_tags > functions/exif_service/domain/list_tags.txt
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

from tests.support.media import exiftool

_TABLE = re.compile(r"<table name='[^']*' g0='([^']*)' g1='([^']*)'")
_TAG = re.compile(r"^\s*<tag [^>]*name='([^']*)'")
# ExifTool writes a tag named without a group to the first of these that has it
_PREFERRED = ("EXIF", "IPTC", "XMP")

Definition = tuple[str, str, bool, bool]  # family-0 group, family-1 group, list, avoided


def _definitions(listx: str) -> dict[str, list[Definition]]:
    by_name: dict[str, list[Definition]] = defaultdict(list)
    group0 = group1 = ""
    for line in listx.splitlines():
        if table := _TABLE.match(line):
            group0, group1 = table.groups()
            continue
        tag = _TAG.match(line)
        if tag is None or "writable='true'" not in line:
            continue
        flags = re.search(r"flags='([^']*)'", line)
        names = flags.group(1).split(",") if flags else []
        by_name[tag.group(1)].append((group0, group1, "List" in names, "Avoid" in names))
    return by_name


def _preferred_is_list(defs: list[Definition]) -> bool:
    """Whether the definition ExifTool writes for a name given without a (family-1) group is
    a list: the first preferred group holding it, all of its namespaces agreeing."""
    usable = [d for d in defs if not d[3]] or defs
    order = [*_PREFERRED, *sorted({d[0] for d in usable} - set(_PREFERRED))]
    for group0 in order:
        here = [d for d in usable if d[0] == group0]
        if here:
            return all(d[2] for d in here)
    return False


def table() -> str:
    """`Group1:Name` of every list tag, and `Group0:Name` and `Name` where those write a list."""
    lines: set[str] = set()
    for name, defs in _definitions(exiftool("-listx", "-f")).items():
        lines |= {f"{g1}:{name}" for _, g1, is_list, _ in defs if is_list}
        for group0 in {d[0] for d in defs}:
            if _preferred_is_list([d for d in defs if d[0] == group0]):
                lines.add(f"{group0}:{name}")
        if _preferred_is_list(defs):
            lines.add(name)
    header = "# List, Bag and Seq tags by ExifTool's tag tables: see tests/support/list_tags.py\n"
    return header + "".join(f"{line}\n" for line in sorted(lines, key=str.lower))


if __name__ == "__main__":
    sys.stdout.write(table())
