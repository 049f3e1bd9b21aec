"""The API documentation page works offline: Chromium loads /docs with every other origin
blocked, renders every operation of the document, and reports no CSP violation or script error
(the `page` fixture fails the test on either)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect
from tests.e2e.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_docs_render_every_operation_with_no_other_origin(page: Page, server: Server) -> None:
    own = urlsplit(server.url).netloc
    elsewhere: list[str] = []

    def only_our_origin(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.context.route("**/*", only_our_origin)
    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    operations = sum(len(item) for item in document["paths"].values())

    page.goto("/docs")
    expect(page.locator(".opblock")).to_have_count(operations, timeout=30_000)
    extract = page.locator(".opblock-post", has_text="/api/v1/extract").first
    expect(extract).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()

    # an operation opens with its multipart body and its documented answers
    page.locator(".opblock-summary", has_text="/api/images/strip-exif").first.click()
    opened = page.locator(".opblock.is-open")
    expect(opened.locator("select").first).to_have_value("multipart/form-data")
    expect(opened.get_by_text("preset", exact=True).first).to_be_visible()
    expect(opened.locator(".response-col_status", has_text="429")).to_be_visible()
    assert elsewhere == []
