"""The API documentation page (`/docs`), served whole from this package under a strict CSP.

Swagger UI's script and stylesheet come from the pinned `fastapi-offline` package, and the
few lines that start it from `docs_static/docs.js`: the page needs no other origin, so it works
offline, and its Content-Security-Policy allows no inline script and nothing from elsewhere.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from exif_service.domain.errors import NotFound

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"

_OWN_DIR = Path(__file__).parent / "docs_static"
# Only the files the page loads are served (no source maps, no listing of the package).
_ASSETS = {
    "swagger-ui-bundle.js": ("fastapi_offline", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("fastapi_offline", "text/css; charset=utf-8"),
    "docs.js": ("", "text/javascript; charset=utf-8"),
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's stylesheet draws its icons as data: SVG images
        "img-src 'self' data:",
        # the page reads /openapi.json, and "Try it out" calls the API on this origin
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_ASSET_HEADERS = {"Cache-Control": "public, max-age=3600", **_HEADERS}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
"""

docs_router = APIRouter(include_in_schema=False)


@docs_router.get(DOCS_URL)
def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI for this app's OpenAPI document."""
    root = request.scope.get("root_path", "")
    page = _PAGE.format(
        title=escape(request.app.title),
        assets=escape(root + ASSETS_URL),
        openapi=escape(root + (request.app.openapi_url or "/openapi.json")),
    )
    return HTMLResponse(page, headers=_HEADERS)


@docs_router.get(ASSETS_URL + "/{name}")
def docs_asset(name: str) -> FileResponse:
    """One of the page's own files."""
    found = _ASSETS.get(name)
    if found is None:
        raise NotFound("Not found.")
    package, media_type = found
    directory = _static_dir(package) if package else _OWN_DIR
    return FileResponse(directory / name, media_type=media_type, headers=_ASSET_HEADERS)


@cache
def _static_dir(package: str) -> Path:
    # found without importing the package: its __init__ pulls in more than the files we serve
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("Not found.")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
