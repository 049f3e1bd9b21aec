"""The media library's values (ImageKit surface): a stored file, and what the engine read in one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exif_service.domain.metadata import NumericTag

if TYPE_CHECKING:
    # Types only: the engine produces these values, and importing it at run time would pull
    # Pillow, numpy and the ExifTool pool into the domain.
    from exif_service.engine.pixels import PixelFacts


@dataclass(frozen=True)
class LibraryEntry:
    """One file in a user's media library."""

    file_id: str
    user_id: str
    name: str
    file_path: str  # folder + name, always starting with "/"
    folder: str  # "/" or "/a/b/"
    tags: tuple[str, ...]
    s3_key: str
    size: int
    width: int | None
    height: int | None
    file_type: str  # "image" or "non-image"
    mime: str
    phash: str | None
    url_token: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MediaReading:
    """What the engine saw in one file: ExifTool's tags, and pixel facts for pictures."""

    tags: tuple[NumericTag, ...]
    pixels: PixelFacts | None
    size: int
    # EXIF values as the file stores them, by directory and tag id (see engine/pixels.py)
    stored_exif: Mapping[str, Mapping[int, Any]] = field(default_factory=dict)

    def value(self, group0: str, name: str) -> object:
        for tag in self.tags:
            if tag.group0 == group0 and tag.name == name:
                return tag.value
        return None

    @property
    def mime(self) -> str:
        return str(self.value("File", "MIMEType") or "application/octet-stream")

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def dimensions(self) -> tuple[int | None, int | None]:
        """(width, height) as stored, from the decoder or else from ExifTool."""
        if self.pixels is not None:
            return self.pixels.width, self.pixels.height
        width = _first_int(self, "ImageWidth")
        height = _first_int(self, "ImageHeight")
        return width, height


def _first_int(reading: MediaReading, name: str) -> int | None:
    for tag in reading.tags:
        if tag.name == name and isinstance(tag.value, int | float) and tag.value > 0:
            return int(tag.value)
    return None
