"""Lambda: the web app's pages and static files (no ExifTool, no data access).

API Gateway sends this function every path no other route claims, so the API surfaces' error
envelopes are registered here too: a mistyped `/api/...` path still gets its surface's JSON,
and only the rest gets an HTML page.
"""

import exif_service.api.imagekit.errors
import exif_service.api.images.errors
import exif_service.api.v1.errors  # noqa: F401  (registering the surfaces is the point)
from exif_service.handlers.http import http_handler
from exif_service.web.router import web_router

handler = http_handler(web_router, engine=False)
