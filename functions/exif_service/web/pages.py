"""Rendering pages: what every page is told (limits, plans, tools) and the headers it sends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse

from exif_service.domain.plans import UPGRADE_URL
from exif_service.settings import Settings, get_settings
from exif_service.web.security import PAGE_HEADERS
from exif_service.web.templating import render

_HERE = Path(__file__).resolve().parent
STATIC_DIR = _HERE / "static"


@dataclass(frozen=True)
class Tool:
    """One signed-in tool page under /tools/."""

    slug: str
    title: str
    summary: str


TOOLS = (
    Tool("strip", "Strip metadata", "Remove location, camera and personal data from a photo."),
    Tool("edit", "SEO and rights", "Set title, author, keywords, copyright and licensing."),
    Tool("geo", "Set location", "Write GPS coordinates into a photo."),
    Tool("advanced", "Advanced edit", "Write any tag as a key and a value."),
    Tool("bulk", "Bulk (Pro)", "Strip or edit up to 20 photos at once, as a ZIP."),
)
TOOLS_BY_SLUG = {tool.slug: tool for tool in TOOLS}


def browser_upload_limit(settings: Settings) -> int:
    """The largest file a page can send: the request cap where a deployment lowers it (Lambda)."""
    return min(settings.max_request_bytes or settings.max_upload_bytes, settings.max_upload_bytes)


def render_page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from `template`, with the security headers every page carries."""
    settings = get_settings()
    limit = browser_upload_limit(settings)
    html = render(
        template,
        max_upload_bytes=limit,
        max_upload_mb=limit // (1024 * 1024),
        free_daily_limit=settings.free_daily_limit,
        pro_daily_limit=settings.pro_daily_limit,
        upgrade_url=UPGRADE_URL,
        tools=TOOLS,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response
