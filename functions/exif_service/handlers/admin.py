"""Lambda: /api/admin/files (table, download, purge); no ExifTool needed."""

from exif_service.api.images.admin_router import admin_router
from exif_service.handlers.http import http_handler

handler = http_handler(admin_router, engine=False)
