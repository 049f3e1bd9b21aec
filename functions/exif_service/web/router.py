"""The pages of the web app and their static files.

Pages are rendered without any account data: the scripts they load read the session, usage,
keys and history from the JSON API in the browser, so this router needs neither the tables nor
ExifTool and its Lambda runs with no data permissions at all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exif_service.web.errors import WebRoute
from exif_service.web.pages import STATIC_DIR, TOOLS_BY_SLUG, render_page

_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}

web_router = APIRouter(route_class=WebRoute, include_in_schema=False)


@web_router.get("/")
def home() -> HTMLResponse:
    """Drop a photo, see its metadata: no account needed."""
    return render_page("home.html", title="See what your photos reveal", script="viewer.js")


@web_router.get("/signin")
def sign_in() -> HTMLResponse:
    """Email and password sign-in, then back to the page that asked (`?next=`)."""
    return render_page("auth.html", title="Sign in", mode="signin", script="auth.js")


@web_router.get("/signup")
def sign_up() -> HTMLResponse:
    """A new free account."""
    return render_page("auth.html", title="Create an account", mode="signup", script="auth.js")


@web_router.get("/dashboard")
def dashboard() -> HTMLResponse:
    """Plan and usage, upgrade, API keys, history and feedback."""
    return render_page("dashboard.html", title="Dashboard", script="dashboard.js")


@web_router.get("/tools")
def tools_index() -> RedirectResponse:
    """The first tool."""
    return RedirectResponse("/tools/strip", status_code=302)


@web_router.get("/tools/{slug}")
def tool_page(slug: str) -> HTMLResponse:
    """One of the signed-in tools (strip, edit, geo, advanced, bulk)."""
    tool = TOOLS_BY_SLUG.get(slug)
    if tool is None:
        return render_page("error.html", 404, title="Page not found", status=404)
    return render_page("tools.html", title=tool.title, tool=tool, script="tools.js")


@web_router.get("/admin")
def admin() -> HTMLResponse:
    """Stored files for administrators (the API refuses everyone else)."""
    return render_page("admin.html", title="Admin: files", script="admin.js")


@web_router.get("/pricing")
def pricing() -> HTMLResponse:
    """The plans, with the upgrade button."""
    return render_page("pricing.html", title="Plans and pricing", script="pricing.js")


def _static_files() -> dict[str, Path]:
    return {
        path.name: path
        for path in STATIC_DIR.iterdir()
        if path.is_file() and path.suffix in _STATIC_TYPES
    }


@web_router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    """A script or stylesheet of the web app (only names that exist; no paths).

    Browsers revalidate on each use (`no-cache`) and get a 304 while the ETag still matches,
    so a deploy is picked up at once without sending unchanged files again.
    """
    path = _static_files().get(name)
    if path is None:
        return render_page("error.html", 404, title="Page not found", status=404)
    body = path.read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_STATIC_TYPES[path.suffix], headers=headers)
