"""Lambda: the ImageKit-compatible surface (/api/v1/files/upload, /v1/files*, /v1/metadata)."""

from exif_service.api.imagekit.router import imagekit_router
from exif_service.engine.pixels import warm
from exif_service.handlers.http import http_handler

warm()  # init phase: the pHash code's imports are not paid by the first request
handler = http_handler(imagekit_router)
