"""Helpers for the browser tests: accounts made through the pages, screenshots, page checks."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"

# Every form control must be named for assistive technology (a <label>, aria-label or
# aria-labelledby); returns the ids or names of those that are not.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((c) => c.type !== 'hidden' && !c.closest('[hidden]'))
  .filter((c) => !((c.labels && c.labels.length) || c.getAttribute('aria-label')
    || c.getAttribute('aria-labelledby') || (c.tagName === 'BUTTON' && c.textContent.trim())))
  .map((c) => c.id || c.name || c.outerHTML.slice(0, 60))"""

# Wider than the viewport means sideways scrolling on a phone.
OVERFLOWS = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


def unique_email(prefix: str = "web") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(page: Page, email: str | None = None) -> str:
    """Create an account through the sign-up page; ends on the dashboard."""
    email = email or unique_email()
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator("#who")).to_have_text(email)
    return email


def sign_in(page: Page, email: str) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def screenshot(page: Page, name: str, fallback_dir: Path) -> Path:
    """Save a full-page screenshot to $EXIF_SERVICE_SCREENSHOT_DIR (docs) or `fallback_dir`."""
    target = Path(os.environ.get("EXIF_SERVICE_SCREENSHOT_DIR") or fallback_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
