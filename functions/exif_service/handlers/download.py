"""Lambda: GET /download-cleaned/{uuid} (no ExifTool needed)."""

from exif_service.api.v1.router import download_router
from exif_service.handlers.http import http_handler

handler = http_handler(download_router, engine=False)
