"""On AWS a large result is a redirect to object storage; the web app still delivers it.

A server with `DOWNLOAD_REDIRECTS` on answers results over 4 MB with a 303 to a presigned URL
on the storage endpoint (another origin, which the page's policy does not let scripts read);
the tool page then downloads the file through its history link instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect
from tests.e2e.conftest import Server, start_server
from tests.support.browser import sign_up
from tests.support.media import exiftool, make_photo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def redirecting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if os.environ.get("EXIF_SERVICE_E2E_URL"):
        pytest.skip("starts a local server of its own")
    with start_server(tmp_path_factory.mktemp("redirects"), DOWNLOAD_REDIRECTS="true") as server:
        yield server


def big_photo(path: Path) -> Path:
    """A JPEG of about 5 MB (noise does not compress) carrying GPS."""
    noise = Image.frombytes("RGB", (2400, 2400), os.urandom(2400 * 2400 * 3))
    noise.save(path, "JPEG", quality=90)
    exiftool("-q", "-overwrite_original", "-GPSLatitude=48.8566", "-GPSLatitudeRef=N", str(path))
    assert path.stat().st_size > 4 * 1024 * 1024
    return path


def test_large_strip_result_arrives_through_the_history_link(
    browser: Browser, redirecting_server: Server, tmp_path: Path
) -> None:
    context = browser.new_context(base_url=redirecting_server.url, accept_downloads=True)
    try:
        page = context.new_page()
        sign_up(page)
        page.goto("/tools/strip")
        page.get_by_label("Photo").set_input_files(str(big_photo(tmp_path / "large.jpg")))
        with page.expect_download() as download:
            page.get_by_role("button", name="Strip and download").click()
        download.value.save_as(tmp_path / "clean.jpg")
        expect(page.locator("#status")).to_contain_text("large.jpg is ready")
        history_link = re.compile(r"^/api/images/history/[^/]+/download$")
        expect(page.locator("#result a")).to_have_attribute("href", history_link)
    finally:
        context.close()
    assert exiftool("-s3", "-GPSLatitude", str(tmp_path / "clean.jpg")).strip() == ""
    assert (tmp_path / "clean.jpg").stat().st_size > 4 * 1024 * 1024


def test_small_results_still_come_straight_back(
    browser: Browser, redirecting_server: Server, tmp_path: Path
) -> None:
    context = browser.new_context(base_url=redirecting_server.url, accept_downloads=True)
    try:
        page = context.new_page()
        sign_up(page)
        page.goto("/tools/strip")
        page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "small.jpg")))
        with page.expect_download() as download:
            page.get_by_role("button", name="Strip and download").click()
        assert download.value.suggested_filename == "small.jpg"
    finally:
        context.close()
