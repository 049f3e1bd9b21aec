"""The sign-in page under a lockout: a person is told to wait, not offered an upgrade."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import PASSWORD, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _try(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_locked_account_is_told_to_try_again_later(page: Page) -> None:
    email = sign_up(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    page.goto("/signin")
    status = page.locator("#status")
    for attempt in range(5):
        _try(page, email, f"wrong password {attempt}")
        expect(status).to_contain_text("do not match")
        expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    _try(page, email, PASSWORD)
    expect(status).to_contain_text("Too many failed sign-in attempts. Try again later.")
    expect(page.get_by_role("link", name="Upgrade to Pro")).to_have_count(0)
    assert page.url.endswith("/signin")
