"""Lambda: POST /api/v1/extract, POST /api/v1/extract/batch, POST /api/v1/privacy and
GET /api/v1/extract/{uuid}."""

from exif_service.api.v1.router import extract_router
from exif_service.handlers.http import http_handler

handler = http_handler(extract_router)
