"""Billing: status, Stripe Checkout and Portal against a local fake of Stripe's API, and the
webhook with real Stripe signatures moving users between plans, each event applied once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import invoke
from tests.support.sessions import Browser, signed_in, stripe_event, stripe_signature

from exif_service.domain.accounts import Plan
from exif_service.services.quota import charge_account
from exif_service.settings import get_settings
from exif_service.store.accounts import get_user, set_plan
from exif_service.store.billing import stripe_ids
from exif_service.store.models import StripeEvent

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
PRICE = "price_pro_monthly"
CHECKOUT_URL = "https://checkout.stripe.test/c/pay/cs_test_1"
PORTAL_URL = "https://billing.stripe.test/p/session/bps_test_1"


@dataclass
class FakeStripe:
    """A tiny local stand-in for the Stripe endpoints the service calls."""

    base: str = ""
    calls: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    fail_with: int | None = None

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]

    def params(self, path: str) -> dict[str, list[str]]:
        return [p for called, p, _ in self.calls if called == path][-1]


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            fake.calls.append((self.path, form, self.headers.get("Authorization", "")))
            if fake.fail_with:
                self._reply(fake.fail_with, {"error": {"message": "boom", "type": "api_error"}})
                return
            bodies = {
                "/v1/customers": {"id": "cus_test_1", "object": "customer"},
                "/v1/checkout/sessions": {
                    "id": "cs_test_1",
                    "object": "checkout.session",
                    "url": CHECKOUT_URL,
                },
                "/v1/billing_portal/sessions": {
                    "id": "bps_test_1",
                    "object": "billing_portal.session",
                    "url": PORTAL_URL,
                },
            }
            if self.path in bodies:
                self._reply(200, bodies[self.path])
            else:
                self._reply(404, {"error": {"message": "unknown path", "type": "invalid_request"}})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def _no_stripe_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test configures Stripe itself (or not: the 503 tests need it unset)."""
    for name in (
        "SECRET_KEY",
        "WEBHOOK_SECRET",
        "PRICE_ID",
        "SUCCESS_URL",
        "CANCEL_URL",
        "API_BASE",
        "SECRET_PARAMETER",
        "WEBHOOK_SECRET_PARAMETER",
    ):
        monkeypatch.delenv(f"EXIF_SERVICE_STRIPE_{name}", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def stripe_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_PRICE_ID", PRICE)
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_API_BASE", fake.base)
    get_settings.cache_clear()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def free(client: TestClient) -> Browser:
    return signed_in(client.app, "billing-free@example.com")


def _post_event(client: TestClient, payload: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = signature or stripe_signature(payload, WEBHOOK_SECRET)
    return client.post("/api/billing/webhook", content=payload, headers=headers)


def _plan(user_id: str) -> Plan:
    account = get_user(user_id)
    assert account is not None
    return account.plan


# status


def test_status_shows_plan_usage_and_both_limits(free: Browser) -> None:
    account = get_user(free.user_id)
    assert account is not None
    with charge_account(account):
        pass
    r = free.client.get("/api/billing/status")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["plan"] == "free"
    assert body["usage"] == 1
    assert body["limit"] == 5
    assert body["remaining"] == 4
    assert body["limits"] == {"free": 5, "pro": 300}
    assert body["resetsAt"].endswith("T00:00:00.000Z")


def test_status_with_pro_bearer_key(client: TestClient, pro_user: KeyedUser) -> None:
    r = client.get("/api/billing/status", headers={"Authorization": f"Bearer {pro_user.key}"})
    assert r.status_code == 200
    assert (r.json()["plan"], r.json()["usage"], r.json()["limit"]) == ("pro", 0, 300)


def test_status_signed_out_is_401(client: TestClient) -> None:
    r = client.get("/api/billing/status")
    assert r.status_code == 401
    assert r.json()["ok"] is False


# unconfigured


@pytest.mark.parametrize("path", ["/api/billing/checkout", "/api/billing/portal"])
def test_billing_without_stripe_settings_is_503(free: Browser, path: str) -> None:
    r = free.client.post(path)
    assert r.status_code == 503
    assert r.json()["ok"] is False
    assert "Billing is not configured" in r.json()["message"]


def test_webhook_without_stripe_settings_is_503(client: TestClient) -> None:
    payload = stripe_event("evt_1", "customer.subscription.updated", {"id": "sub_1"})
    r = _post_event(client, payload)
    assert r.status_code == 503
    assert "Billing is not configured" in r.json()["message"]


# checkout and portal


def test_checkout_returns_stripe_url_for_pro_subscription(
    free: Browser, stripe_api: FakeStripe
) -> None:
    r = free.client.post("/api/billing/checkout")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "url": CHECKOUT_URL}
    assert stripe_api.paths() == ["/v1/customers", "/v1/checkout/sessions"]
    assert stripe_api.calls[0][2] == "Bearer sk_test_fake"
    assert stripe_api.params("/v1/customers")["email"] == ["billing-free@example.com"]
    sent = stripe_api.params("/v1/checkout/sessions")
    assert sent["mode"] == ["subscription"]
    assert sent["customer"] == ["cus_test_1"]
    assert sent["client_reference_id"] == [free.user_id]
    assert sent["line_items[0][price]"] == [PRICE]
    assert sent["subscription_data[metadata][user_id]"] == [free.user_id]
    assert sent["success_url"][0].startswith("http://testserver/")
    assert stripe_ids(free.user_id) == ("cus_test_1", None)


def test_second_checkout_reuses_the_stripe_customer(free: Browser, stripe_api: FakeStripe) -> None:
    free.client.post("/api/billing/checkout")
    free.client.post("/api/billing/checkout")
    assert stripe_api.paths().count("/v1/customers") == 1
    assert stripe_api.paths().count("/v1/checkout/sessions") == 2


def test_checkout_uses_configured_return_urls(
    free: Browser, stripe_api: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SUCCESS_URL", "https://site.test/thanks")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_CANCEL_URL", "https://site.test/pricing")
    get_settings.cache_clear()
    assert free.client.post("/api/billing/checkout").status_code == 200
    sent = stripe_api.params("/v1/checkout/sessions")
    assert sent["success_url"] == ["https://site.test/thanks"]
    assert sent["cancel_url"] == ["https://site.test/pricing"]


def test_checkout_for_a_pro_user_is_400(client: TestClient, stripe_api: FakeStripe) -> None:
    pro = signed_in(client.app, "already@example.com", plan="pro")
    r = pro.client.post("/api/billing/checkout")
    assert r.status_code == 400
    assert "already on the Pro plan" in r.json()["message"]
    assert stripe_api.calls == []


def test_checkout_needs_a_session(
    client: TestClient, pro_user: KeyedUser, stripe_api: FakeStripe
) -> None:
    assert client.post("/api/billing/checkout").status_code == 401
    bearer = {"Authorization": f"Bearer {pro_user.key}"}
    assert client.post("/api/billing/portal", headers=bearer).status_code == 401


def test_checkout_from_foreign_origin_is_403(free: Browser, stripe_api: FakeStripe) -> None:
    r = free.client.post("/api/billing/checkout", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert stripe_api.calls == []


def test_stripe_failure_is_503_without_details(free: Browser, stripe_api: FakeStripe) -> None:
    stripe_api.fail_with = 500
    r = free.client.post("/api/billing/checkout")
    assert r.status_code == 503
    assert (
        r.json()["message"] == "The payment provider could not be reached. Try again in a moment."
    )
    assert "boom" not in r.text


def test_portal_before_any_checkout_is_400(free: Browser, stripe_api: FakeStripe) -> None:
    r = free.client.post("/api/billing/portal")
    assert r.status_code == 400
    assert "no subscription" in r.json()["message"]
    assert stripe_api.calls == []


def test_portal_returns_stripe_url_for_the_customer(free: Browser, stripe_api: FakeStripe) -> None:
    free.client.post("/api/billing/checkout")
    r = free.client.post("/api/billing/portal")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "url": PORTAL_URL}
    sent = stripe_api.params("/v1/billing_portal/sessions")
    assert sent["customer"] == ["cus_test_1"]
    assert sent["return_url"] == ["http://testserver/dashboard"]


# webhook


def _completed(user_id: str, customer: str = "cus_w", sub: str = "sub_w") -> dict[str, Any]:
    return {
        "id": "cs_test_w",
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "client_reference_id": user_id,
        "customer": customer,
        "subscription": sub,
        "metadata": {"user_id": user_id},
    }


def _subscription(
    sub: str, status: str, user_id: str | None = None, customer: str = "cus_w"
) -> dict[str, Any]:
    return {
        "id": sub,
        "object": "subscription",
        "status": status,
        "customer": customer,
        "metadata": {"user_id": user_id} if user_id else {},
    }


def test_checkout_completed_moves_user_to_pro(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    payload = stripe_event("evt_done", "checkout.session.completed", _completed(free.user_id))
    r = _post_event(client, payload)
    assert r.status_code == 200
    assert r.json()["ok"] is True
    assert r.json()["duplicate"] is False
    assert _plan(free.user_id) is Plan.PRO
    assert stripe_ids(free.user_id) == ("cus_w", "sub_w")
    # now a Pro user may create API keys
    assert free.client.post("/api/keys", json={"name": "after upgrade"}).status_code == 200


def test_same_event_twice_is_applied_once(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    payload = stripe_event("evt_twice", "checkout.session.completed", _completed(free.user_id))
    assert _post_event(client, payload).json()["duplicate"] is False
    set_plan(free.user_id, Plan.FREE)  # an operator's change after the first delivery
    again = _post_event(client, payload)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert _plan(free.user_id) is Plan.FREE
    assert StripeEvent.get("evt_twice").type == "checkout.session.completed"


def test_unpaid_checkout_does_not_upgrade(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    obj = _completed(free.user_id) | {"payment_status": "unpaid"}
    assert (
        _post_event(
            client, stripe_event("evt_unpaid", "checkout.session.completed", obj)
        ).status_code
        == 200
    )
    assert _plan(free.user_id) is Plan.FREE


@pytest.mark.parametrize(
    ("event_type", "status", "plan"),
    [
        ("customer.subscription.created", "active", Plan.PRO),
        ("customer.subscription.updated", "trialing", Plan.PRO),
        ("customer.subscription.updated", "canceled", Plan.FREE),
        ("customer.subscription.updated", "unpaid", Plan.FREE),
        ("customer.subscription.deleted", "canceled", Plan.FREE),
    ],
)
def test_subscription_events_move_the_user_between_plans(
    client: TestClient,
    free: Browser,
    stripe_api: FakeStripe,
    event_type: str,
    status: str,
    plan: Plan,
) -> None:
    start = Plan.FREE if plan is Plan.PRO else Plan.PRO
    set_plan(free.user_id, start)
    obj = _subscription("sub_p", status, user_id=free.user_id)
    r = _post_event(client, stripe_event(f"evt_{event_type}_{status}", event_type, obj))
    assert r.status_code == 200
    assert _plan(free.user_id) is plan


def test_subscription_event_finds_the_user_by_customer(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    free.client.post("/api/billing/checkout")  # gives the user Stripe customer cus_test_1
    obj = _subscription("sub_c", "active", customer="cus_test_1")
    assert (
        _post_event(client, stripe_event("evt_c", "customer.subscription.created", obj)).status_code
        == 200
    )
    assert _plan(free.user_id) is Plan.PRO


def test_end_of_an_older_subscription_keeps_the_current_one(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    _post_event(
        client,
        stripe_event(
            "evt_new", "checkout.session.completed", _completed(free.user_id, sub="sub_new")
        ),
    )
    old = _subscription("sub_old", "canceled", user_id=free.user_id)
    r = _post_event(client, stripe_event("evt_old", "customer.subscription.deleted", old))
    assert r.status_code == 200
    assert _plan(free.user_id) is Plan.PRO


def test_late_delivery_of_an_older_event_is_ignored(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    now = int(time.time())
    sub = _subscription("sub_o", "active", user_id=free.user_id)
    ended = sub | {"status": "canceled"}
    deleted = stripe_event("evt_later", "customer.subscription.deleted", ended, created=now)
    assert _post_event(client, deleted).status_code == 200
    earlier = stripe_event("evt_earlier", "customer.subscription.updated", sub, created=now - 60)
    r = _post_event(client, earlier)
    assert r.status_code == 200
    assert _plan(free.user_id) is Plan.FREE


def test_incomplete_subscription_leaves_a_paid_checkout_alone(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    done = _completed(free.user_id, sub="sub_i")
    assert (
        _post_event(client, stripe_event("evt_i1", "checkout.session.completed", done)).status_code
        == 200
    )
    pending = _subscription("sub_i", "incomplete", user_id=free.user_id)
    r = _post_event(client, stripe_event("evt_i2", "customer.subscription.created", pending))
    assert r.status_code == 200
    assert _plan(free.user_id) is Plan.PRO


def test_downgraded_owner_key_is_refused_with_upgrade_url(
    client: TestClient, stripe_api: FakeStripe
) -> None:
    pro = signed_in(client.app, "lapsed@example.com", plan="pro")
    raw = pro.client.post("/api/keys", json={"name": "k"}).json()["key"]
    ended = _subscription("sub_x", "canceled", user_id=pro.user_id)
    _post_event(client, stripe_event("evt_end", "customer.subscription.deleted", ended))
    r = client.get("/api/billing/status", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 403
    assert r.json()["upgradeUrl"] == "/pricing"


@pytest.mark.parametrize(
    "signature",
    [
        "t=1,v1=" + "0" * 64,
        stripe_signature(b"another body", WEBHOOK_SECRET),
        "garbage",
    ],
    ids=["stale-and-wrong", "signed-for-another-body", "garbage"],  # stable across workers
)
def test_webhook_with_bad_signature_is_400(
    client: TestClient, free: Browser, stripe_api: FakeStripe, signature: str
) -> None:
    payload = stripe_event("evt_bad", "checkout.session.completed", _completed(free.user_id))
    r = _post_event(client, payload, signature=signature)
    assert r.status_code == 400
    assert r.json() == {"ok": False, "message": "Invalid Stripe signature."}
    assert _plan(free.user_id) is Plan.FREE


def test_webhook_signed_with_another_secret_is_400(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    payload = stripe_event("evt_x", "checkout.session.completed", _completed(free.user_id))
    r = _post_event(client, payload, signature=stripe_signature(payload, "whsec_other"))
    assert r.status_code == 400
    assert _plan(free.user_id) is Plan.FREE


def test_webhook_without_signature_header_is_400(
    client: TestClient, stripe_api: FakeStripe
) -> None:
    r = client.post("/api/billing/webhook", content=b"{}")
    assert r.status_code == 400


def test_webhook_with_old_timestamp_is_400(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    payload = stripe_event("evt_old_t", "checkout.session.completed", _completed(free.user_id))
    r = _post_event(client, payload, signature=stripe_signature(payload, WEBHOOK_SECRET, 1000))
    assert r.status_code == 400


def test_signed_but_malformed_event_is_400(client: TestClient, stripe_api: FakeStripe) -> None:
    payload = b'{"object": "event"}'
    assert _post_event(client, payload).status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'"event"',
        b'{"id": "evt_x", "type": "checkout.session.completed", "created": 1,'
        b' "data": {"object": "x"}}',
        b'{"id": "evt_y", "type": "customer.subscription.updated", "created": 1, "data": []}',
        b'{"id": ["evt"], "type": "invoice.paid", "created": 1, "data": {"object": {}}}',
        b'{"id": "evt_z", "type": "invoice.paid", "created": "soon", "data": {"object": {}}}',
    ],
    ids=["list", "string", "object-string", "data-list", "id-list", "created-text"],
)
def test_well_signed_but_malformed_events_are_400_not_500(
    client: TestClient, stripe_api: FakeStripe, payload: bytes
) -> None:
    r = _post_event(client, payload)
    assert r.status_code == 400, r.text
    assert r.json()["ok"] is False


def test_webhook_with_a_timestamp_from_the_future_is_400(
    client: TestClient, free: Browser, stripe_api: FakeStripe
) -> None:
    payload = stripe_event("evt_future", "checkout.session.completed", _completed(free.user_id))
    later = int(time.time()) + 3600
    r = _post_event(client, payload, signature=stripe_signature(payload, WEBHOOK_SECRET, later))
    assert r.status_code == 400
    assert _plan(free.user_id) is Plan.FREE


def test_other_event_types_are_acknowledged(client: TestClient, stripe_api: FakeStripe) -> None:
    payload = stripe_event("evt_inv", "invoice.paid", {"id": "in_1", "object": "invoice"})
    r = _post_event(client, payload)
    assert r.status_code == 200
    assert r.json()["duplicate"] is False


def test_billing_lambda_status_for_bearer_key(pro_user: KeyedUser) -> None:
    event = load_event("billing_status.json")
    event["headers"]["authorization"] = f"Bearer {pro_user.key}"
    status, body, _ = invoke("billing", event)
    assert status == 200
    assert body["plan"] == "pro"
    assert body["limits"] == {"free": 5, "pro": 300}
