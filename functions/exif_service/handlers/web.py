"""Lambda: the web app's pages and static files (no ExifTool, no data access).

API Gateway sends this function every path no other route claims, so it answers in every
surface's envelope: a mistyped `/api/...` path still gets its surface's JSON, and only the rest
gets an HTML page.
"""

from exif_service.api.surfaces import API_SURFACES
from exif_service.handlers.http import http_handler
from exif_service.web.errors import SURFACE as WEB
from exif_service.web.router import web_router

handler = http_handler(web_router, engine=False, surfaces=(*API_SURFACES, WEB))
