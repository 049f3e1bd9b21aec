"""Billing: plan and usage status, Stripe Checkout and Portal, and the Stripe webhook.

The webhook is the only thing that moves a user between plans (besides the admin CLI). Each
event is claimed in the StripeEvent table before it is applied, so a redelivered event is
applied once; if applying fails the claim is dropped so that Stripe's retry gets through.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe

from exif_service.domain.accounts import Account, Plan
from exif_service.domain.errors import BadRequest, ServiceUnavailable
from exif_service.domain.plans import Limits, usage_day
from exif_service.services.quota import plan_limits, used_today
from exif_service.settings import Settings, get_settings
from exif_service.store import billing

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Billing is not configured on this server: set the Stripe settings to enable it."
PROVIDER_DOWN = "The payment provider could not be reached. Try again in a moment."
# Stripe keeps retrying a past_due subscription's invoice; the user keeps Pro meanwhile
_PRO_STATUSES = frozenset({"active", "trialing", "past_due"})
# the first payment is still being made: neither grant nor take away Pro
_PENDING_STATUSES = frozenset({"incomplete"})
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)


@dataclass(frozen=True)
class BillingStatus:
    plan: Plan
    used_today: int
    limit: int
    limits: Limits
    resets_at: datetime


def status(account: Account) -> BillingStatus:
    """The caller's plan, today's usage against its limit, and every plan's limit."""
    limits = plan_limits()
    today = datetime.strptime(usage_day(), "%Y-%m-%d").replace(tzinfo=UTC)
    return BillingStatus(
        plan=account.plan,
        used_today=used_today(account),
        limit=limits.for_plan(account.plan),
        limits=limits,
        resets_at=today + timedelta(days=1),
    )


def _client(settings: Settings) -> stripe.StripeClient:
    if settings.stripe_secret_key is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(),
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=1,
    )


def _customer_for(client: stripe.StripeClient, account: Account) -> str:
    customer_id, _ = billing.stripe_ids(account.user_id)
    if customer_id:
        return customer_id
    customer = client.v1.customers.create(
        params={"email": account.email, "metadata": {"user_id": account.user_id}}
    )
    billing.set_customer(account.user_id, customer.id)
    return str(customer.id)


def start_checkout(account: Account, site_url: str) -> str:
    """A Stripe Checkout session for the Pro subscription; returns the URL to send the user to."""
    settings = get_settings()
    client = _client(settings)
    if not settings.stripe_price_id:
        raise ServiceUnavailable(NOT_CONFIGURED)
    if account.plan is Plan.PRO:
        raise BadRequest("You are already on the Pro plan. Manage it from the billing portal.")
    try:
        customer_id = _customer_for(client, account)
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": account.user_id,
                "line_items": [{"price": settings.stripe_price_id, "quantity": 1}],
                "success_url": settings.stripe_success_url
                or f"{site_url}/dashboard?checkout=success",
                "cancel_url": settings.stripe_cancel_url or f"{site_url}/pricing?checkout=cancel",
                "metadata": {"user_id": account.user_id},
                "subscription_data": {"metadata": {"user_id": account.user_id}},
            }
        )
    except stripe.StripeError as exc:
        log.error("stripe checkout failed: %s", type(exc).__name__)
        raise ServiceUnavailable(PROVIDER_DOWN) from exc
    return str(session.url)


def open_portal(account: Account, site_url: str) -> str:
    """A Stripe Billing Portal session for the user's subscription; returns its URL."""
    settings = get_settings()
    client = _client(settings)
    customer_id, _ = billing.stripe_ids(account.user_id)
    if not customer_id:
        raise BadRequest("There is no subscription to manage yet. Upgrade to Pro first.")
    try:
        session = client.v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": f"{site_url}/dashboard"}
        )
    except stripe.StripeError as exc:
        log.error("stripe portal failed: %s", type(exc).__name__)
        raise ServiceUnavailable(PROVIDER_DOWN) from exc
    return str(session.url)


def handle_webhook(payload: bytes, signature: str | None) -> bool:
    """Verify and apply one Stripe event; False when it had already been processed."""
    settings = get_settings()
    if settings.stripe_webhook_secret is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret.get_secret_value()
        )
        event: dict[str, Any] = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        obj: dict[str, Any] = event["data"]["object"]
        created = datetime.fromtimestamp(int(event["created"]), UTC)
    except stripe.SignatureVerificationError as exc:
        raise BadRequest("Invalid Stripe signature.") from exc
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        raise BadRequest("Invalid Stripe event payload.") from exc
    if not billing.claim_event(event_id, event_type):
        log.info("stripe event %s already processed", event_id)
        return False
    try:
        _apply(event_type, obj, created)
    except BaseException:
        billing.release_event(event_id)
        raise
    return True


def _apply(event_type: str, obj: dict[str, Any], created: datetime) -> None:
    if event_type == "checkout.session.completed":
        _checkout_completed(obj, created)
    elif event_type in SUBSCRIPTION_EVENTS:
        _subscription_changed(obj, created, deleted=event_type.endswith(".deleted"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_for(obj: dict[str, Any]) -> str | None:
    raw_metadata = obj.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    for candidate in (_text(obj.get("client_reference_id")), _text(metadata.get("user_id"))):
        if candidate and billing.user_exists(candidate):
            return candidate
    customer = _text(obj.get("customer"))
    return billing.user_for_customer(customer) if customer else None


def _checkout_completed(obj: dict[str, Any], created: datetime) -> None:
    if obj.get("mode") != "subscription":
        return
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return
    user_id = _user_for(obj)
    if user_id is None:
        log.warning("checkout %s completed for no known user", obj.get("id"))
        return
    applied = billing.apply_subscription(
        user_id,
        Plan.PRO,
        event_at=created,
        customer_id=_text(obj.get("customer")),
        subscription_id=_text(obj.get("subscription")),
    )
    log.info("checkout for user %s: %s", user_id, "pro" if applied else "stale, ignored")


def _subscription_changed(obj: dict[str, Any], created: datetime, *, deleted: bool) -> None:
    user_id = _user_for(obj)
    if user_id is None:
        log.warning("subscription %s changed for no known user", obj.get("id"))
        return
    subscription_id = _text(obj.get("id"))
    customer_id = _text(obj.get("customer"))
    status = obj.get("status")
    if not deleted and status in _PENDING_STATUSES:
        return
    if not deleted and status in _PRO_STATUSES:
        applied = billing.apply_subscription(
            user_id,
            Plan.PRO,
            event_at=created,
            customer_id=customer_id,
            subscription_id=subscription_id,
        )
        log.info("subscription %s of user %s: pro (applied=%s)", subscription_id, user_id, applied)
        return
    _, current = billing.stripe_ids(user_id)
    if current and subscription_id and current != subscription_id:
        # the end of an older subscription must not cancel the one the user has now
        log.info("ignoring end of superseded subscription %s", subscription_id)
        return
    applied = billing.apply_subscription(
        user_id, Plan.FREE, event_at=created, customer_id=customer_id, clear_subscription=True
    )
    log.info("subscription %s of user %s: free (applied=%s)", subscription_id, user_id, applied)
