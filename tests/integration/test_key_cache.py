"""The in-process API key -> owner cache: short-lived, and forgotten at once by this process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user
from tests.support.sessions import signed_in, stripe_event, stripe_signature

from exif_service.domain.accounts import Plan, hash_key
from exif_service.domain.errors import PlanRequired, Unauthorized
from exif_service.services.accounts import KeyCache, key_owner
from exif_service.settings import Settings, get_settings
from exif_service.store import accounts as store
from exif_service.store.models import ApiKey

WEBHOOK_SECRET = "whsec_key_cache_test"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key_id(user: KeyedUser) -> str:
    return store.list_api_keys(user.user_id)[0].key_id


def test_a_key_revoked_by_another_process_works_until_the_entry_expires(aws: Settings) -> None:
    user = make_user("cached@example.com")
    clock = Clock()
    cache = KeyCache(ttl_s=30, clock=clock)
    assert key_owner(user.key, cache).user_id == user.user_id

    assert store.revoke_api_key(user.user_id, _key_id(user))  # as the keys function would
    clock.now += 29.9
    assert key_owner(user.key, cache).user_id == user.user_id  # the documented delay
    clock.now += 0.1
    with pytest.raises(Unauthorized):
        key_owner(user.key, cache)


def test_a_plan_change_by_another_process_is_seen_when_the_entry_expires(aws: Settings) -> None:
    user = make_user("lapsing@example.com")
    clock = Clock()
    cache = KeyCache(ttl_s=30, clock=clock)
    assert key_owner(user.key, cache).plan is Plan.PRO
    store.set_plan(user.user_id, Plan.FREE)
    assert key_owner(user.key, cache).plan is Plan.PRO
    clock.now += 30
    with pytest.raises(PlanRequired):
        key_owner(user.key, cache)


def test_with_no_lifetime_nothing_is_cached(aws: Settings) -> None:
    user = make_user("uncached@example.com")
    cache = KeyCache(ttl_s=0, clock=Clock())
    assert key_owner(user.key, cache).user_id == user.user_id
    store.revoke_api_key(user.user_id, _key_id(user))
    with pytest.raises(Unauthorized):
        key_owner(user.key, cache)


def test_last_use_is_written_at_most_once_a_minute_while_cached(aws: Settings) -> None:
    user = make_user("busy@example.com")
    clock = Clock()
    cache = KeyCache(ttl_s=300, clock=clock)

    def last_used() -> object:
        return ApiKey.get(hash_key(user.key)).last_used_at

    key_owner(user.key, cache)
    first = last_used()
    assert first is not None
    for _ in range(5):
        clock.now += 10
        key_owner(user.key, cache)
    assert last_used() == first  # 50 s of use, no write
    clock.now += 11
    key_owner(user.key, cache)
    later = last_used()
    assert later is not None and later > first  # type: ignore[operator]


def test_a_key_revoked_by_this_process_stops_at_once(client: TestClient) -> None:
    owner = signed_in(client.app, "revoker@example.com", plan="pro")
    created = owner.client.post("/api/keys", json={"name": "ci"}).json()
    bearer = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/billing/status", headers=bearer).status_code == 200  # now cached
    assert owner.client.delete(f"/api/keys/{created['apiKey']['id']}").status_code == 200
    assert client.get("/api/billing/status", headers=bearer).status_code == 401
    v1 = client.post(
        "/api/v1/extract", headers={"X-API-Key": created["key"]}, files={"file": ("a.jpg", b"x")}
    )
    assert v1.status_code == 401


def test_a_plan_change_by_this_process_takes_effect_at_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.delenv("EXIF_SERVICE_STRIPE_WEBHOOK_SECRET_PARAMETER", raising=False)
    get_settings.cache_clear()
    owner = signed_in(client.app, "downgraded@example.com", plan="pro")
    raw = owner.client.post("/api/keys", json={"name": "ci"}).json()["key"]
    bearer = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/billing/status", headers=bearer).json()["plan"] == "pro"  # cached

    ended = {
        "id": "sub_cache",
        "object": "subscription",
        "status": "canceled",
        "customer": "cus_cache",
        "metadata": {"user_id": owner.user_id},
    }
    payload = stripe_event("evt_cache_end", "customer.subscription.deleted", ended)
    r = client.post(
        "/api/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": stripe_signature(payload, WEBHOOK_SECRET)},
    )
    assert r.status_code == 200, r.text

    refused = client.get("/api/billing/status", headers=bearer)
    assert refused.status_code == 403
    assert refused.json()["upgradeUrl"] == "/pricing"


def test_an_owner_read_before_a_revoke_is_not_remembered_after_it(aws: Settings) -> None:
    user = make_user("inflight@example.com")
    cache = KeyCache(ttl_s=30, clock=Clock())
    account = store.resolve_api_key(user.key)  # a lookup in flight ...
    assert account is not None
    seen = cache.generation
    cache.forget_user(user.user_id)  # ... while this process revokes the key
    cache.remember(user.key, account, seen)
    assert cache.owner(user.key) is None
