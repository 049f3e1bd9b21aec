"""Lambda: POST /api/feedback."""

from exif_service.api.images.feedback_router import feedback_router
from exif_service.handlers.http import http_handler

handler = http_handler(feedback_router, engine=False)
