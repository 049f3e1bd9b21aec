"""Lambda: the ImageKit-compatible surface (/api/v1/files/upload, /v1/files*, /v1/metadata)."""

from exif_service.engine.exiftool import launch_pool

# perl loads ExifTool on the other core while the imports below run (hence E402)
launch_pool()

from exif_service.api.imagekit.router import imagekit_router  # noqa: E402
from exif_service.engine.pixels import warm  # noqa: E402
from exif_service.handlers.http import http_handler  # noqa: E402

warm()  # init phase: the pHash code's imports are not paid by the first request
handler = http_handler(imagekit_router)
