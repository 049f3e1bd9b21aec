"""Lambda: the web app's pages and static files (no ExifTool, no data access)."""

from exif_service.handlers.http import http_handler
from exif_service.web.router import web_router

handler = http_handler(web_router, engine=False)
