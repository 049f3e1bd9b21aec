"""API keys: created by signed-in Pro users, shown once, stored hashed, at most 5, revocable."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import invoke
from tests.support.sessions import PASSWORD, Browser, signed_in

from exif_service.domain.accounts import Plan, hash_key
from exif_service.store.accounts import set_plan
from exif_service.store.models import ApiKey


@pytest.fixture
def pro(client: TestClient) -> Browser:
    return signed_in(client.app, "keys-pro@example.com", plan="pro")


def _create(browser: Browser, name: str = "CI Pipeline") -> dict[str, Any]:
    r = browser.client.post("/api/keys", json={"name": name})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_new_key_is_shown_once_and_stored_only_as_hash(pro: Browser) -> None:
    body = _create(pro)
    raw = body["key"]
    assert body["ok"] is True
    assert raw.startswith("exs_")
    assert len(raw) >= 4 + 32
    assert body["apiKey"]["name"] == "CI Pipeline"

    listed = pro.client.get("/api/keys").json()["keys"]
    assert len(listed) == 1
    assert listed[0]["id"] == body["apiKey"]["id"]
    assert listed[0]["maskedKey"] != raw
    assert listed[0]["maskedKey"].startswith(raw[:8])
    assert raw not in str(listed)
    assert listed[0]["createdAt"].endswith("Z")
    assert listed[0]["lastUsedAt"] is None

    stored = list(ApiKey.scan())
    assert [k.key_hash for k in stored] == [hash_key(raw)]
    assert all(raw not in str(k.attribute_values) for k in stored)


def test_new_key_authenticates_as_bearer_and_records_last_use(
    client: TestClient, pro: Browser
) -> None:
    raw = _create(pro)["key"]
    r = client.get("/api/billing/status", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200
    assert r.json()["plan"] == "pro"
    listed = pro.client.get("/api/keys").json()["keys"]
    assert listed[0]["lastUsedAt"] is not None


def test_free_user_cannot_create_key_403_with_upgrade_url(client: TestClient) -> None:
    free = signed_in(client.app, "keys-free@example.com")
    r = free.client.post("/api/keys", json={"name": "x"})
    assert r.status_code == 403
    assert r.json()["ok"] is False
    assert r.json()["error"] == "plan_required"
    assert r.json()["upgradeUrl"] == "/pricing"
    assert free.client.get("/api/keys").json()["keys"] == []


def test_sixth_key_is_refused_until_one_is_revoked(pro: Browser) -> None:
    ids = [_create(pro, f"k{i}")["apiKey"]["id"] for i in range(5)]
    sixth = pro.client.post("/api/keys", json={"name": "k5"})
    assert sixth.status_code == 400
    assert sixth.json()["ok"] is False
    assert "at most 5" in sixth.json()["message"]
    assert len(pro.client.get("/api/keys").json()["keys"]) == 5

    assert pro.client.delete(f"/api/keys/{ids[0]}").status_code == 200
    assert pro.client.post("/api/keys", json={"name": "again"}).status_code == 200


def test_key_limit_counts_keys_made_by_admin_cli(pro_user: KeyedUser) -> None:
    from exif_service.domain.errors import KeyLimitReached
    from exif_service.store.accounts import create_api_key

    for _ in range(4):  # the fixture already made one
        create_api_key(pro_user.user_id, "cli")
    with pytest.raises(KeyLimitReached):
        create_api_key(pro_user.user_id, "cli")


def test_key_name_is_optional(pro: Browser) -> None:
    r = pro.client.post("/api/keys")
    assert r.status_code == 200
    assert r.json()["apiKey"]["name"] == ""


def test_overlong_key_name_is_400(pro: Browser) -> None:
    r = pro.client.post("/api/keys", json={"name": "n" * 101})
    assert r.status_code == 400
    assert pro.client.get("/api/keys").json()["keys"] == []


def test_creating_a_key_needs_a_session_not_a_key(client: TestClient, pro_user: KeyedUser) -> None:
    r = client.post(
        "/api/keys", json={"name": "x"}, headers={"Authorization": f"Bearer {pro_user.key}"}
    )
    assert r.status_code == 401
    assert r.json()["ok"] is False


def test_listing_keys_without_credentials_is_401(client: TestClient) -> None:
    r = client.get("/api/keys")
    assert r.status_code == 401
    assert r.json()["ok"] is False


def test_owner_revokes_key_and_it_stops_working(client: TestClient, pro: Browser) -> None:
    created = _create(pro)
    r = pro.client.delete(f"/api/keys/{created['apiKey']['id']}")
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    assert pro.client.get("/api/keys").json()["keys"] == []
    bearer = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/billing/status", headers=bearer).status_code == 401
    again = pro.client.delete(f"/api/keys/{created['apiKey']['id']}")
    assert again.status_code == 404


def test_someone_elses_key_is_404_and_survives(client: TestClient, pro: Browser) -> None:
    created = _create(pro)
    other = signed_in(client.app, "intruder@example.com", plan="pro")
    r = other.client.delete(f"/api/keys/{created['apiKey']['id']}")
    assert r.status_code == 404
    assert r.json() == {"ok": False, "message": "API key not found."}
    assert len(pro.client.get("/api/keys").json()["keys"]) == 1


def test_unknown_key_id_is_404(pro: Browser) -> None:
    assert pro.client.delete("/api/keys/does-not-exist").status_code == 404


def test_key_of_owner_moved_to_free_is_403_with_upgrade_url_everywhere(
    client: TestClient, pro: Browser
) -> None:
    raw = _create(pro)["key"]
    set_plan(pro.user_id, Plan.FREE)

    images = client.get("/api/billing/status", headers={"Authorization": f"Bearer {raw}"})
    assert images.status_code == 403
    assert images.json()["upgradeUrl"] == "/pricing"

    v1 = client.post("/api/v1/extract", headers={"X-API-Key": raw}, files={"file": ("a.jpg", b"x")})
    assert v1.status_code == 403
    assert v1.json()["success"] is False
    assert v1.json()["upgradeUrl"] == "/pricing"

    # the dashboard still works for the (now free) signed-in owner
    assert pro.client.get("/api/keys").status_code == 200


def test_keys_lambda_lists_keys_for_session_cookie(pro: Browser) -> None:
    _create(pro)
    event = load_event("keys_list.json")
    event["cookies"] = [f"exs_session={pro.token}"]
    status, body, _ = invoke("keys", event)
    assert status == 200
    assert body["ok"] is True
    assert [k["name"] for k in body["keys"]] == ["CI Pipeline"]


def test_keys_lambda_without_session_is_401(client: TestClient) -> None:
    event = load_event("keys_list.json")
    event.pop("cookies")
    status, body, _ = invoke("keys", event)
    assert status == 401
    assert body["ok"] is False


def test_keys_lambda_signs_up_with_secure_cookie(client: TestClient) -> None:
    status, body, response = invoke("keys", load_event("auth_sign_up.json"))
    assert status == 200
    assert body["user"]["email"] == "lambda@example.com"
    cookies = response.get("cookies") or [response["headers"].get("set-cookie", "")]
    assert any("HttpOnly" in c and "Secure" in c for c in cookies)


def test_keys_and_sessions_are_never_cached_and_nothing_is_sniffed(
    client: TestClient, pro: Browser
) -> None:
    created = pro.client.post("/api/keys", json={"name": "cache"})
    listed = pro.client.get("/api/keys")
    session = pro.client.get("/api/auth/get-session")
    signed_in_again = TestClient(client.app).post(
        "/api/auth/sign-in/email", json={"email": pro.email, "password": PASSWORD}
    )
    for r in (created, listed, session, signed_in_again):
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
    for other in (client.get("/api/images/nothing"), client.get("/"), client.get("/openapi.json")):
        assert other.headers["x-content-type-options"] == "nosniff"


def test_the_html_history_fragment_carries_a_strict_policy(pro: Browser) -> None:
    r = pro.client.get("/api/images/history")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "no-store" not in r.headers.get("cache-control", "")
