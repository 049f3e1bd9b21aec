"""Lambda: /api/keys (API key management) and /api/auth/* (sign-up, sign-in, sessions)."""

from exif_service.api.images.auth_router import auth_router
from exif_service.api.images.keys_router import keys_router
from exif_service.handlers.http import http_handler

handler = http_handler(keys_router, auth_router, engine=False)
