"""Change-password: signed in, the current password required, every other session signed out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.support.sessions import PASSWORD, SESSION_COOKIE, Browser, signed_in

from exif_service.domain.accounts import hash_key
from exif_service.store.models import Session, User

CHANGE = "/api/auth/change-password"
SIGN_IN = "/api/auth/sign-in/email"
NEW = "a much better passphrase"


@pytest.fixture
def user(client: TestClient) -> Browser:
    return signed_in(client.app, "changer@example.com")


def _other_browser(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    browser = TestClient(client.app)
    r = browser.post(SIGN_IN, json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return browser


def _signed_in_as(browser: TestClient) -> str | None:
    body = browser.get("/api/auth/get-session").json()
    return body["user"]["id"] if body else None


def test_changing_the_password_signs_out_every_other_session_and_keeps_this_browser(
    client: TestClient, user: Browser
) -> None:
    laptop = _other_browser(client, user.email)
    phone = _other_browser(client, user.email)
    old_token = user.token

    r = user.client.post(CHANGE, json={"currentPassword": PASSWORD, "newPassword": NEW})

    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    assert r.json()["user"]["id"] == user.user_id
    assert "HttpOnly" in r.headers["set-cookie"]
    assert user.token != old_token  # a fresh session: a copy of the old cookie is useless
    assert _signed_in_as(user.client) == user.user_id
    assert user.client.get("/api/keys").status_code == 200
    assert _signed_in_as(laptop) is None
    assert _signed_in_as(phone) is None
    assert laptop.get("/api/keys").status_code == 401
    stale = TestClient(client.app)
    stale.cookies.set(SESSION_COOKIE, old_token)
    assert _signed_in_as(stale) is None
    assert Session.count(hash_key(old_token)) == 0

    # the old password is refused, the new one signs in (and that session lives)
    wrong = TestClient(client.app).post(SIGN_IN, json={"email": user.email, "password": PASSWORD})
    assert wrong.status_code == 401
    assert _signed_in_as(_other_browser(client, user.email, NEW)) == user.user_id
    assert User.get(user.user_id).password_hash.startswith("$argon2")


def test_a_wrong_current_password_changes_nothing(client: TestClient, user: Browser) -> None:
    laptop = _other_browser(client, user.email)
    r = user.client.post(CHANGE, json={"currentPassword": "guessing", "newPassword": NEW})
    assert r.status_code == 400
    assert r.json() == {"ok": False, "message": "The current password is not correct."}
    assert _signed_in_as(laptop) == user.user_id
    assert _signed_in_as(user.client) == user.user_id
    assert _other_browser(client, user.email, PASSWORD)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"currentPassword": PASSWORD, "newPassword": "short"}, "at least 8"),
        ({"currentPassword": PASSWORD, "newPassword": "x" * 129}, "at most 128"),
        ({"currentPassword": "", "newPassword": NEW}, "Current password is required"),
        ({"newPassword": NEW}, "Bad request"),
        ({"currentPassword": PASSWORD, "newPassword": 12345678}, "Bad request"),
    ],
    ids=["short", "long", "empty-current", "missing-current", "not-text"],
)
def test_the_new_password_is_validated_like_a_sign_up(
    client: TestClient, user: Browser, body: dict[str, object], message: str
) -> None:
    r = user.client.post(CHANGE, json=body)
    assert r.status_code == 400
    assert r.json()["ok"] is False
    assert message in r.json()["message"]
    assert _other_browser(client, user.email, PASSWORD)  # unchanged


def test_changing_the_password_needs_a_session(client: TestClient, user: Browser) -> None:
    r = TestClient(client.app).post(CHANGE, json={"currentPassword": PASSWORD, "newPassword": NEW})
    assert r.status_code == 401
    assert r.json()["ok"] is False


def test_changing_the_password_from_a_foreign_page_is_403(user: Browser) -> None:
    r = user.client.post(
        CHANGE,
        json={"currentPassword": PASSWORD, "newPassword": NEW},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert _signed_in_as(user.client) == user.user_id


def test_guessing_the_current_password_hits_the_sign_in_lockout(
    client: TestClient, user: Browser
) -> None:
    for _ in range(5):
        r = user.client.post(CHANGE, json={"currentPassword": "guess", "newPassword": NEW})
        assert r.status_code == 400
    r = user.client.post(CHANGE, json={"currentPassword": PASSWORD, "newPassword": NEW})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"] == "too_many_attempts"
