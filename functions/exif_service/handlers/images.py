"""Lambda: the image tools (/api/images/*) and the processing history."""

from exif_service.api.images.router import images_router
from exif_service.handlers.http import http_handler

handler = http_handler(images_router)
