"""The local all-in-one app that `exif-service serve` runs: every router, every surface."""

from __future__ import annotations

from fastapi import FastAPI

from exif_service.api.app import create_app
from exif_service.api.imagekit.router import imagekit_router
from exif_service.api.images.admin_router import admin_router
from exif_service.api.images.auth_router import auth_router
from exif_service.api.images.billing_router import billing_router
from exif_service.api.images.feedback_router import feedback_router
from exif_service.api.images.keys_router import keys_router
from exif_service.api.images.router import images_router
from exif_service.api.surfaces import API_SURFACES
from exif_service.api.v1.router import download_router, extract_router, remove_router
from exif_service.api.v1.uploads_router import uploads_router
from exif_service.web.errors import SURFACE as WEB
from exif_service.web.router import web_router


def create_local_app() -> FastAPI:
    """Every surface in one app, as `exif-service serve` runs it (the web pages last: they
    answer every path no API claims)."""
    routers = [extract_router, remove_router, download_router, uploads_router]
    routers += [auth_router, keys_router, billing_router, feedback_router]
    routers += [images_router, admin_router, imagekit_router, web_router]
    return create_app(*routers, surfaces=(*API_SURFACES, WEB), title="exif-service (local)")
