"""Lambda: the ImageKit-compatible surface (/api/v1/files/upload, /v1/files*, /v1/metadata)."""

from exif_service.api.imagekit.router import imagekit_router
from exif_service.handlers.http import http_handler

handler = http_handler(imagekit_router)
