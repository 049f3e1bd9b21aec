"""Changing the password from the dashboard: the old one stops working, other browsers are
signed out, this one stays signed in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import Server
from tests.support.browser import PASSWORD, sign_in, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

NEW_PASSWORD = "a brand new passphrase"


def _change(page: Page, current: str, new: str) -> None:
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password").fill(new)
    page.get_by_role("button", name="Change password").click()


def test_changing_the_password_signs_out_the_other_browsers(
    page: Page, browser: Browser, server: Server
) -> None:
    email = sign_up(page)
    other = browser.new_context(base_url=server.url)
    try:
        elsewhere = other.new_page()
        sign_in(elsewhere, email)

        status = page.locator("#password-status")
        _change(page, "not the password", NEW_PASSWORD)
        expect(status).to_contain_text("current password is not correct")
        _change(page, PASSWORD, "short")
        expect(page.locator("#new-password-error")).to_contain_text("at least 8")
        _change(page, PASSWORD, NEW_PASSWORD)
        expect(status).to_contain_text("Password changed")

        page.reload()  # this browser keeps a (fresh) session
        expect(page.locator("#who")).to_have_text(email)
        elsewhere.goto("/dashboard")  # the other one was signed out
        elsewhere.wait_for_url("**/signin**")
    finally:
        other.close()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_contain_text("do not match")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
