"""Lambda: /api/billing/* (status, Stripe Checkout and Portal, Stripe webhook)."""

from exif_service.api.images.billing_router import billing_router
from exif_service.handlers.http import http_handler

handler = http_handler(billing_router, engine=False)
