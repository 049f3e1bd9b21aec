"""Lambda: POST /api/v1/remove."""

from exif_service.api.v1.router import remove_router
from exif_service.handlers.http import http_handler

handler = http_handler(remove_router)
