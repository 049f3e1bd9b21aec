"""A visitor without an account reads a photo's metadata in the browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect
from tests.support.browser import OVERFLOWS, UNLABELLED_CONTROLS, screenshot
from tests.support.media import make_jpeg, make_photo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _viewed(response: Response) -> bool:
    """The home page's one request per file: view-exif with the privacy report alongside."""
    return "/api/images/view-exif" in response.url and "privacy=true" in response.url


def test_visitor_sees_camera_model_and_gps_with_a_map_link(page: Page, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "holiday.jpg")
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(photo))

    camera = page.locator('[data-group="Camera"]')
    expect(camera).to_contain_text("Canon EOS R5")
    location = page.locator('[data-group="Location"]')
    expect(location).to_contain_text("48.856600, 2.352200")
    map_link = location.get_by_role("link", name="Open on a map (OpenStreetMap)")
    expect(map_link).to_have_attribute(
        "href",
        "https://www.openstreetmap.org/?mlat=48.856600&mlon=2.352200#map=16/48.856600/2.352200",
    )
    expect(page.locator('[data-group="Authorship and rights"]')).to_contain_text("Jane Doe")
    screenshot(page, "home", tmp_path)


def test_privacy_panel_shows_the_servers_privacy_report(page: Page, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg", **{"XMP-iptcExt:PersonInImage": "Bob Roe"})
    page.goto("/")
    with page.expect_response(_viewed) as answer:
        page.get_by_label("Choose a file").set_input_files(str(photo))
    assert answer.value.ok
    assert "privacy" in answer.value.json()

    findings = page.locator("#findings")
    expect(findings.locator('li[data-kind="location"]')).to_contain_text("48.856600, 2.352200")
    expect(findings.locator('li[data-kind="location"]')).to_contain_text("GPS:GPSLatitude")
    expect(findings.locator('li[data-kind="device"]')).to_contain_text("SN123456")
    expect(findings.locator('li[data-kind="identity"]')).to_contain_text("Jane Doe")
    expect(findings.locator('li[data-kind="people"]')).to_contain_text("Bob Roe")
    expect(findings.locator('li[data-kind="embedded"]')).to_contain_text("IFD1:ThumbnailImage")
    expect(page.locator("#privacy-summary")).to_contain_text("Risk: high")
    expect(page.locator("#privacy-summary")).to_contain_text("where it was taken")


def test_a_photo_without_personal_tags_is_said_to_reveal_nothing(
    page: Page, tmp_path: Path
) -> None:
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(make_jpeg(tmp_path / "plain.jpg")))
    expect(page.locator("#privacy-summary")).to_contain_text("No location, serial numbers")
    expect(page.locator("#findings li")).to_have_count(0)
    expect(page.locator("#privacy-action")).to_be_hidden()


def test_full_tag_table_opens_and_filters_by_search(page: Page, tmp_path: Path) -> None:
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(make_photo(tmp_path / "p.jpg")))
    expect(page.locator('[data-group="Camera"]')).to_contain_text("Canon")

    page.get_by_role("button", name="Show all tags").click()
    table = page.locator("#tag-table tbody tr")
    expect(table.first).to_be_visible()
    assert table.count() > 20
    page.get_by_label("Search tags and values").fill("serial")
    expect(page.locator("#tag-table tbody tr:visible")).to_have_count(1)
    expect(page.locator("#tag-table tbody tr:visible")).to_contain_text("SN123456")


def test_tag_value_with_markup_is_shown_as_text(page: Page, tmp_path: Path) -> None:
    markup = "<img src=x onerror=\"document.title='owned'\"><script>alert(1)</script>"
    photo = make_photo(tmp_path / "<b onclick=x>evil.jpg", **{"EXIF:Model": markup})
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(photo))

    camera = page.locator('[data-group="Camera"]')
    expect(camera).to_contain_text(markup)
    expect(page.locator("#result-name")).to_have_text("<b onclick=x>evil.jpg")
    injected = "#groups img, #findings img, #tag-table img, #result script, #result b"
    assert page.locator(injected).count() == 0
    expect(page.locator("#preview img")).to_have_attribute(
        "alt", "Preview of <b onclick=x>evil.jpg"
    )
    assert page.title() != "owned"


def test_file_over_the_limit_is_refused_before_upload(page: Page, tmp_path: Path) -> None:
    big = tmp_path / "huge.jpg"
    with big.open("wb") as out:
        out.truncate(26 * 1024 * 1024)
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(big))
    expect(page.locator("#status")).to_contain_text("too large")
    expect(page.locator("#status")).to_contain_text("25 MB")


def test_unsupported_file_says_so(page: Page, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"this is not an image at all " * 50)
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(text))
    status = page.locator("#status")
    expect(status).to_contain_text("not supported")
    assert "{" not in status.inner_text()


def test_home_works_at_phone_width_with_labelled_controls(page: Page, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/")
    page.get_by_label("Choose a file").set_input_files(str(make_jpeg(tmp_path / "plain.jpg")))
    expect(page.locator("#result")).to_be_visible()
    page.get_by_role("button", name="Show all tags").click()
    assert page.evaluate(OVERFLOWS) is False
    assert page.evaluate(UNLABELLED_CONTROLS) == []


def test_pages_send_a_strict_content_security_policy(page: Page) -> None:
    response = page.goto("/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    for directive in ("script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_url_that_is_not_a_web_address_is_explained_next_to_the_field(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Or read a photo from a web address").fill("file:///etc/passwd")
    page.get_by_role("button", name="Read URL").click()
    expect(page.locator("#url-error")).to_have_text(
        "Enter a full web address starting with http:// or https://."
    )


def test_upgrade_on_the_pricing_page_asks_a_visitor_to_sign_in_first(page: Page) -> None:
    page.goto("/pricing")
    expect(page.locator("#pro-heading")).to_have_text("Pro")
    page.get_by_role("button", name="Upgrade to Pro").click()
    page.wait_for_url("**/signin?next=%2Fpricing")
    expect(
        page.get_by_role("main").get_by_role("link", name="Create an account")
    ).to_have_attribute("href", "/signup?next=%2Fpricing")


def test_reading_a_file_costs_one_view_of_the_daily_allowance(page: Page, tmp_path: Path) -> None:
    page.goto("/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/images/" in r.url else None)
    with page.expect_response(_viewed) as answer:
        page.get_by_label("Choose a file").set_input_files(str(make_photo(tmp_path / "p.jpg")))
    expect(page.locator("#privacy-summary")).to_contain_text("Risk: high")
    assert len(requests) == 1, requests
    headers = answer.value.headers
    limit, remaining = int(headers["x-ratelimit-limit"]), int(headers["x-ratelimit-remaining"])
    page.reload()
    with page.expect_response(_viewed) as again:
        page.get_by_label("Choose a file").set_input_files(str(make_jpeg(tmp_path / "q.jpg")))
    assert int(again.value.headers["x-ratelimit-remaining"]) == remaining - 1
    assert int(again.value.headers["x-ratelimit-limit"]) == limit
