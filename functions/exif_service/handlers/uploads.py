"""Lambda: POST /api/v1/uploads (presigned S3 upload for large files; no ExifTool needed)."""

from exif_service.api.v1.uploads_router import uploads_router
from exif_service.handlers.http import http_handler

handler = http_handler(uploads_router, engine=False)
