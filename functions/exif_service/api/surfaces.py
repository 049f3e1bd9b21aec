"""The three public API surfaces, named once for the apps that serve them."""

from __future__ import annotations

from exif_service.api.errors import Surface
from exif_service.api.imagekit.errors import SURFACE as IMAGEKIT
from exif_service.api.images.errors import SURFACE as IMAGES
from exif_service.api.v1.errors import SURFACE as V1

API_SURFACES: tuple[Surface, ...] = (V1, IMAGES, IMAGEKIT)
