"""Sign-up, sign-in, sessions, cookies and the CSRF origin check of the images surface."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser
from tests.support.sessions import PASSWORD, SESSION_COOKIE, signed_in

from exif_service.api.images.deps import ImagesAccount
from exif_service.api.images.errors import ImagesRoute
from exif_service.domain.accounts import hash_key
from exif_service.settings import Settings, get_settings
from exif_service.store.models import Session, User

SIGN_UP = "/api/auth/sign-up/email"
SIGN_IN = "/api/auth/sign-in/email"
FOREIGN = "https://evil.example"


def _set_cookie(response_headers: httpx.Headers) -> str:
    cookies = [v for k, v in response_headers.multi_items() if k == "set-cookie"]
    assert len(cookies) == 1
    return str(cookies[0])


def test_sign_up_sets_httponly_lax_cookie_and_session_shows_user(client: TestClient) -> None:
    r = client.post(SIGN_UP, json={"email": "New@Example.com", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["ok"] is True
    assert r.json()["user"]["email"] == "new@example.com"
    assert r.json()["user"]["plan"] == "free"
    cookie = _set_cookie(r.headers)
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back

    session = client.get("/api/auth/get-session")
    assert session.status_code == 200
    assert session.json()["user"]["email"] == "new@example.com"
    assert session.json()["plan"] == "free"
    assert session.json()["session"]["expiresAt"].endswith("Z")


def test_a_client_saying_https_itself_does_not_change_the_cookie(client: TestClient) -> None:
    r = client.post(
        SIGN_UP,
        json={"email": "tls@example.com", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200
    assert "Secure" not in _set_cookie(r.headers)


def test_cookie_is_secure_on_https_scheme(aws: Settings) -> None:
    from exif_service.local.app import create_local_app

    https = TestClient(create_local_app(), base_url="https://testserver")
    r = https.post(SIGN_UP, json={"email": "tls2@example.com", "password": PASSWORD})
    assert r.status_code == 200
    assert "Secure" in _set_cookie(r.headers)


def test_signed_out_get_session_is_200_null(client: TestClient) -> None:
    r = client.get("/api/auth/get-session")
    assert r.status_code == 200
    assert r.json() is None


def test_unknown_session_cookie_is_null_and_cleared(client: TestClient) -> None:
    r = client.get("/api/auth/get-session", headers={"Cookie": f"{SESSION_COOKIE}=forged"})
    assert r.status_code == 200
    assert r.json() is None
    assert 'exs_session=""' in _set_cookie(r.headers) or "Max-Age=0" in _set_cookie(r.headers)


def test_sign_up_with_existing_email_is_400(client: TestClient) -> None:
    first = client.post(SIGN_UP, json={"email": "dup@example.com", "password": PASSWORD})
    assert first.status_code == 200
    again = TestClient(client.app).post(
        SIGN_UP, json={"email": " DUP@example.com ", "password": "another password"}
    )
    assert again.status_code == 400
    assert again.json() == {
        "ok": False,
        "message": "An account with this email already exists. Sign in instead.",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "Enter a valid email address."),
        ({"email": "a@b", "password": PASSWORD}, "Enter a valid email address."),
        ({"email": "x@example.com", "password": "short"}, "at least 8 characters"),
        ({"email": "x@example.com", "password": "p" * 129}, "at most 128 characters"),
        ({"email": "", "password": PASSWORD}, "Email is required."),
    ],
)
def test_sign_up_validates_email_and_password(
    client: TestClient, body: dict[str, str], message: str
) -> None:
    r = client.post(SIGN_UP, json=body)
    assert r.status_code == 400
    assert r.json()["ok"] is False
    assert message in r.json()["message"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"email": "x@example.com"}},
        {"json": ["x@example.com", PASSWORD]},
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"json": {"email": 5, "password": PASSWORD}},
    ],
)
def test_malformed_sign_up_body_is_400_envelope(client: TestClient, kwargs: dict[str, Any]) -> None:
    r = client.post(SIGN_UP, **kwargs)
    assert r.status_code == 400
    assert r.json()["ok"] is False
    assert "message" in r.json()


def test_password_is_stored_as_argon2_hash(client: TestClient) -> None:
    r = client.post(SIGN_UP, json={"email": "hash@example.com", "password": PASSWORD})
    stored = User.get(r.json()["user"]["id"]).password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_session_is_stored_under_hash_of_cookie_token(client: TestClient) -> None:
    client.post(SIGN_UP, json={"email": "sess@example.com", "password": PASSWORD})
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    item = Session.get(hash_key(token))
    assert item.ttl is not None
    assert item.expires_at > item.created_at
    assert not [s for s in Session.scan() if s.token_hash == token]


def test_sign_in_with_right_password_starts_new_session(client: TestClient) -> None:
    client.post(SIGN_UP, json={"email": "in@example.com", "password": PASSWORD})
    browser = TestClient(client.app)
    r = browser.post(SIGN_IN, json={"email": "IN@example.com", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["user"]["email"] == "in@example.com"
    assert "HttpOnly" in _set_cookie(r.headers)
    assert browser.get("/api/auth/get-session").json()["user"]["email"] == "in@example.com"


def test_sign_in_replaces_the_session_it_was_sent_with(client: TestClient) -> None:
    client.post(SIGN_UP, json={"email": "fix@example.com", "password": PASSWORD})
    old = client.cookies.get(SESSION_COOKIE)
    r = client.post(SIGN_IN, json={"email": "fix@example.com", "password": PASSWORD})
    assert r.status_code == 200
    assert client.cookies.get(SESSION_COOKIE) != old
    stale = TestClient(client.app)
    stale.cookies.set(SESSION_COOKIE, str(old))
    assert stale.get("/api/auth/get-session").json() is None


@pytest.mark.parametrize(
    ("email", "password"),
    [("wrong@example.com", "not the password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_password_or_unknown_email_is_same_401(
    client: TestClient, email: str, password: str
) -> None:
    TestClient(client.app).post(SIGN_UP, json={"email": "wrong@example.com", "password": PASSWORD})
    r = client.post(SIGN_IN, json={"email": email, "password": password})
    assert r.status_code == 401
    assert r.json() == {"ok": False, "message": "Invalid email or password."}
    assert "set-cookie" not in r.headers


def test_user_without_password_cannot_sign_in(client: TestClient, pro_user: KeyedUser) -> None:
    r = client.post(SIGN_IN, json={"email": pro_user.email, "password": PASSWORD})
    assert r.status_code == 401


def test_sign_out_ends_session_on_the_server(client: TestClient) -> None:
    client.post(SIGN_UP, json={"email": "out@example.com", "password": PASSWORD})
    token = client.cookies.get(SESSION_COOKIE)
    r = client.post("/api/auth/sign-out")
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    assert "Max-Age=0" in _set_cookie(r.headers) or 'exs_session=""' in _set_cookie(r.headers)
    replay = TestClient(client.app)
    replay.cookies.set(SESSION_COOKIE, str(token))
    assert replay.get("/api/auth/get-session").json() is None
    assert replay.get("/api/keys").status_code == 401


def test_sign_out_when_signed_out_is_ok(client: TestClient) -> None:
    assert client.post("/api/auth/sign-out").json() == {"ok": True}


def test_expired_session_is_refused(client: TestClient) -> None:
    from exif_service.store.sessions import create_session

    r = client.post(SIGN_UP, json={"email": "old@example.com", "password": PASSWORD})
    token, _ = create_session(r.json()["user"]["id"], timedelta(seconds=-1))
    browser = TestClient(client.app)
    browser.cookies.set(SESSION_COOKIE, token)
    assert browser.get("/api/auth/get-session").json() is None
    assert browser.get("/api/keys").status_code == 401


# CSRF: unsafe cookie-authenticated requests must come from our own origin


def test_cookie_post_from_foreign_origin_is_403(client: TestClient) -> None:
    browser = signed_in(client.app, "victim@example.com", plan="pro")
    r = browser.client.post("/api/keys", json={"name": "x"}, headers={"Origin": FOREIGN})
    assert r.status_code == 403
    assert r.json()["ok"] is False
    assert "Origin" in r.json()["message"]
    assert browser.client.get("/api/keys").json()["keys"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "http://testserver:8443"},
    ],
)
def test_cookie_delete_from_other_origins_is_403(
    client: TestClient, headers: dict[str, str]
) -> None:
    browser = signed_in(client.app, "victim2@example.com", plan="pro")
    key_id = browser.client.post("/api/keys", json={"name": "k"}).json()["apiKey"]["id"]
    r = browser.client.delete(f"/api/keys/{key_id}", headers=headers)
    assert r.status_code == 403
    assert len(browser.client.get("/api/keys").json()["keys"]) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Origin": "https://testserver"},
        {"Referer": "http://testserver/dashboard/keys"},
        {},  # curl and scripts send neither header
    ],
)
def test_cookie_post_from_own_origin_or_non_browser_is_allowed(
    client: TestClient, headers: dict[str, str]
) -> None:
    browser = signed_in(client.app, "owner@example.com", plan="pro")
    r = browser.client.post("/api/keys", json={"name": "ok"}, headers=headers)
    assert r.status_code == 200


def test_allowed_origins_setting_trusts_another_site(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_ALLOWED_ORIGINS", "https://app.example.com, https://x.test")
    get_settings.cache_clear()
    browser = signed_in(client.app, "cors@example.com", plan="pro")
    ok = browser.client.post("/api/keys", json={}, headers={"Origin": "https://app.example.com"})
    assert ok.status_code == 200
    refused = browser.client.post("/api/keys", json={}, headers={"Origin": FOREIGN})
    assert refused.status_code == 403


def test_sign_in_from_foreign_origin_is_403(client: TestClient) -> None:
    TestClient(client.app).post(SIGN_UP, json={"email": "login@example.com", "password": PASSWORD})
    r = client.post(
        SIGN_IN,
        json={"email": "login@example.com", "password": PASSWORD},
        headers={"Origin": FOREIGN},
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_cookie_get_from_foreign_origin_is_allowed(client: TestClient) -> None:
    browser = signed_in(client.app, "reader@example.com")
    r = browser.client.get("/api/keys", headers={"Origin": FOREIGN})
    assert r.status_code == 200


# images_account: Bearer key (Pro) else session (any plan) else 401


@pytest.fixture
def probe(aws: Settings) -> TestClient:
    """An app with one unsafe endpoint guarded by images_account, as the image tools use it."""
    from exif_service.api.app import create_app
    from exif_service.api.images.auth_router import auth_router

    router = APIRouter(route_class=ImagesRoute)

    @router.post("/api/images/probe")
    def probe_route(account: ImagesAccount) -> dict[str, str]:
        return {"user": account.user_id, "plan": account.plan.value}

    app: FastAPI = create_app(router, auth_router)
    return TestClient(app)


def test_images_account_without_credentials_is_401(probe: TestClient) -> None:
    r = probe.post("/api/images/probe")
    assert r.status_code == 401
    assert r.json()["ok"] is False


def test_images_account_accepts_pro_bearer_from_any_origin(
    probe: TestClient, pro_user: KeyedUser
) -> None:
    r = probe.post(
        "/api/images/probe",
        headers={"Authorization": f"Bearer {pro_user.key}", "Origin": FOREIGN},
    )
    assert r.status_code == 200
    assert r.json() == {"user": pro_user.user_id, "plan": "pro"}


def test_images_account_refuses_free_bearer_with_upgrade_url(
    probe: TestClient, free_user: KeyedUser
) -> None:
    r = probe.post("/api/images/probe", headers={"Authorization": f"Bearer {free_user.key}"})
    assert r.status_code == 403
    assert r.json()["upgradeUrl"] == "/pricing"
    assert r.json()["error"] == "plan_required"


def test_images_account_refuses_unknown_bearer(probe: TestClient) -> None:
    r = probe.post("/api/images/probe", headers={"Authorization": "Bearer exs_" + "x" * 43})
    assert r.status_code == 401


def test_images_account_accepts_free_session_and_checks_origin(probe: TestClient) -> None:
    browser = signed_in(probe.app, "web@example.com")
    r = browser.client.post("/api/images/probe", headers={"Origin": "http://testserver"})
    assert r.status_code == 200
    assert r.json()["plan"] == "free"
    assert browser.client.post("/api/images/probe", headers={"Origin": FOREIGN}).status_code == 403


def test_admin_cli_password_signs_in(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from exif_service.cli import main

    monkeypatch.setenv("AWS_EXECUTION_ENV", "tests")  # use the bound (moto) tables directly
    code = main(["admin", "create-user", "--email", "ops@example.com", "--password", PASSWORD])
    assert code == 0
    r = client.post(SIGN_IN, json={"email": "ops@example.com", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["user"]["email"] == "ops@example.com"
