"""The routers of every endpoint group, for the local all-in-one app.

Each surface adds its routers here (one import line each); the Lambda handlers wire only
their own router.
"""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from exif_service.api.imagekit.router import imagekit_router
    from exif_service.api.images.admin_router import admin_router
    from exif_service.api.images.auth_router import auth_router
    from exif_service.api.images.billing_router import billing_router
    from exif_service.api.images.feedback_router import feedback_router
    from exif_service.api.images.keys_router import keys_router
    from exif_service.api.images.router import images_router
    from exif_service.api.v1.router import download_router, extract_router, remove_router
    from exif_service.api.v1.uploads_router import uploads_router
    from exif_service.web.router import web_router

    routers = [extract_router, remove_router, download_router, uploads_router]
    routers += [auth_router, keys_router, billing_router, feedback_router]
    routers += [images_router, admin_router]
    routers += [imagekit_router]
    routers += [web_router]
    return routers
