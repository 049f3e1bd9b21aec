"""Values of the engine's reads and strips that other layers name: tags read back, strip modes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class StripKeep(StrEnum):
    """What a strip leaves in place."""

    SAFE = "safe"  # ICC colour profile and orientation, so the picture looks the same
    NONE = "none"  # nothing at all


@dataclass(frozen=True)
class NumericTag:
    """One tag with its family-0 and family-1 groups and its id inside its directory."""

    group0: str  # EXIF, MakerNotes, File, QuickTime, ...
    group1: str  # IFD0, ExifIFD, GPS, Canon, Track1, ...
    tag_id: int | str | None  # numeric for EXIF/TIFF tags
    name: str
    value: Any
