"""The routers of every endpoint group, for the local all-in-one app.

Each surface adds its routers here (one import line each); the Lambda handlers wire only
their own router.
"""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from exif_service.api.v1.router import download_router, extract_router, remove_router

    routers = [extract_router, remove_router, download_router]
    return routers
