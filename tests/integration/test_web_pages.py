"""The web app's pages over HTTP: rendering, security headers, static files, error pages."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from tests.conftest import load_event
from tests.support.lambdas import LambdaContext

PAGES = ["/", "/signin", "/signup", "/dashboard", "/tools/strip", "/tools/edit", "/tools/geo"]
PAGES += ["/tools/advanced", "/tools/bulk", "/admin", "/pricing"]


@pytest.fixture
def web() -> TestClient:
    """The web router alone, as its own Lambda serves it (no tables, no ExifTool)."""
    from exif_service.api.app import create_app
    from exif_service.api.surfaces import API_SURFACES
    from exif_service.web.errors import SURFACE as WEB
    from exif_service.web.router import web_router

    return TestClient(create_app(web_router, surfaces=(*API_SURFACES, WEB)))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_a_strict_policy(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in (
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_no_inline_script_or_style(web: TestClient, path: str) -> None:
    html = web.get(path).text
    assert "<style" not in html
    assert " style=" not in html
    assert " on" + "click=" not in html
    for chunk in html.split("<script")[1:]:
        assert ' src="/static/' in chunk.split(">", 1)[0]


def test_tools_index_goes_to_the_first_tool(web: TestClient) -> None:
    response = web.get("/tools", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/tools/strip"


def test_static_files_have_their_types_and_nothing_else_is_served(web: TestClient) -> None:
    script = web.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert web.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert web.get("/static/router.py").status_code == 404
    assert web.get("/static/..%2Frouter.py").status_code == 404
    assert web.get("/static/%2e%2e/templates/base.html").status_code == 404


def test_unknown_page_is_an_html_page_not_json(web: TestClient) -> None:
    response = web.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "content-security-policy" in response.headers
    assert web.get("/tools/nope").status_code == 404


def test_api_paths_keep_their_json_errors_next_to_the_web_app(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    missing = client.get("/api/images/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["ok"] is False


def test_upload_limit_reaches_the_page(web: TestClient) -> None:
    html = web.get("/").text
    assert 'data-max-bytes="26214400"' in html
    assert "Up to 25 MB" in html


def test_web_lambda_serves_the_home_page_from_an_http_api_event() -> None:
    from exif_service.handlers.web import handler

    response = handler(copy.deepcopy(load_event("web_home.json")), LambdaContext())
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert "See what your photos reveal" in response["body"]
    assert "script-src 'self'" in response["headers"]["content-security-policy"]


def test_web_lambda_answers_unclaimed_api_paths_in_the_api_envelope() -> None:
    from exif_service.handlers.web import handler

    event = copy.deepcopy(load_event("web_home.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/images/no-such-tool"
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["ok"] is False

    event["rawPath"] = event["requestContext"]["http"]["path"] = "/no-such-page"
    page = handler(event, LambdaContext())
    assert page["statusCode"] == 404
    assert page["headers"]["content-type"].startswith("text/html")


def test_scripts_never_turn_data_into_markup() -> None:
    from exif_service.web.pages import STATIC_DIR

    for script in STATIC_DIR.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{script.name} uses {sink}"


def test_unchanged_static_files_are_not_sent_again(web: TestClient) -> None:
    first = web.get("/static/viewer.js")
    etag = first.headers["etag"]
    again = web.get("/static/viewer.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_pages_check_files_against_a_lower_request_cap_where_one_is_set(
    web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_MAX_REQUEST_BYTES", str(4 * 1024 * 1024))
    get_settings.cache_clear()
    html = web.get("/tools/strip").text
    assert 'data-max-bytes="4194304"' in html
    assert "Up to 4 MB" in html
