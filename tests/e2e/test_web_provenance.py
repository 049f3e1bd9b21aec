"""A visitor sees who signed a photo, with what, whether a model made it and whether the record
still holds, and the name of the place beside the map link."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect
from tests.support.browser import screenshot
from tests.support.provenance import (
    GENERATOR,
    SIGNER,
    ai_image,
    captured_image,
    edited_after_signing,
    iptc_only_ai,
    plain_jpeg,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _viewed(response: Response) -> bool:
    """The home page's one request per file: view-exif with the privacy report alongside."""
    return "/api/images/view-exif" in response.url and "privacy=true" in response.url


def _read(page: Page, path: Path) -> None:
    page.goto("/")
    with page.expect_response(_viewed):
        page.get_by_label("Choose a file").set_input_files(str(path))


def test_signed_ai_image_shows_its_credentials_card(page: Page, tmp_path: Path) -> None:
    _read(page, ai_image(tmp_path))
    card = page.locator("#credentials")
    expect(card).to_contain_text(SIGNER)
    expect(card).to_contain_text(f"{GENERATOR} 1.0")
    expect(card).to_contain_text("Yes: made or changed by a generative or algorithmic model")
    expect(card).to_contain_text("signed by a certificate this server does not know")
    expect(card).to_have_attribute("data-validation", "untrusted")
    findings = page.locator('#findings li[data-kind="provenance"]')
    expect(findings).to_contain_text("Content Credentials")
    screenshot(page, "credentials", tmp_path)


def test_an_image_changed_after_signing_is_shown_invalid(page: Page, tmp_path: Path) -> None:
    _read(page, edited_after_signing(tmp_path))
    card = page.locator("#credentials")
    expect(card).to_have_attribute("data-validation", "invalid")
    expect(card).to_contain_text("changed after it was signed")
    expect(card).to_contain_text("assertion.dataHash.mismatch")


def test_gps_photo_names_its_place_beside_the_map_link(page: Page, tmp_path: Path) -> None:
    _read(page, captured_image(tmp_path))
    location = page.locator('[data-group="Location"]')
    expect(location.get_by_role("link", name="Open on a map (OpenStreetMap)")).to_be_visible()
    expect(location.locator(".place")).to_contain_text("km from Arezzo, Tuscany, Italy")
    card = page.locator("#credentials")
    expect(card).to_contain_text("No: recorded from the world")
    location_finding = page.locator('#findings li[data-kind="location"]')
    expect(location_finding).to_contain_text("km from Arezzo, Tuscany, Italy")


def test_iptc_label_and_plain_photo_say_there_are_no_credentials(
    page: Page, tmp_path: Path
) -> None:
    _read(page, iptc_only_ai(tmp_path))
    card = page.locator("#credentials")
    expect(card).to_contain_text("This file carries no Content Credentials.")
    expect(card).to_contain_text("(IPTC label)")
    _read(page, plain_jpeg(tmp_path / "plain.jpg"))
    expect(card).to_contain_text("This file carries no Content Credentials.")
    expect(page.locator("#credentials-list")).to_be_hidden()
