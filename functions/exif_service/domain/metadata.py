"""Values of the engine's reads that other layers name: a tag read back with its groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NumericTag:
    """One tag with its family-0 and family-1 groups and its id inside its directory."""

    group0: str  # EXIF, MakerNotes, File, QuickTime, ...
    group1: str  # IFD0, ExifIFD, GPS, Canon, Track1, ...
    tag_id: int | str | None  # numeric for EXIF/TIFF tags
    name: str
    value: Any
