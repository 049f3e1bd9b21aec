"""Lambda: the image tools (/api/images/*) and the processing history."""

from exif_service.engine.exiftool import launch_pool

# perl loads ExifTool on the other core while the imports below run (hence E402)
launch_pool()

from exif_service.api.images.router import images_router  # noqa: E402
from exif_service.handlers.http import http_handler  # noqa: E402

handler = http_handler(images_router)
