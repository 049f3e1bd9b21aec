"""Lambda: POST /api/v1/extract, POST /api/v1/extract/batch, POST /api/v1/privacy and
GET /api/v1/extract/{uuid}."""

from exif_service.engine.exiftool import launch_pool

# perl loads ExifTool on the other core while the imports below run (hence E402)
launch_pool()

from exif_service.api.v1.router import extract_router  # noqa: E402
from exif_service.handlers.http import http_handler  # noqa: E402

handler = http_handler(extract_router)
