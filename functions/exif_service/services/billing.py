"""Billing: plan and usage status, Stripe Checkout and Portal, and the Stripe webhook.

The webhook is the only thing that moves a user between plans (besides the admin CLI). Each
event is claimed in the StripeEvent table before it is applied, so a redelivered event is
applied once; if applying fails the claim is dropped so that Stripe's retry gets through.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe

from exif_service.domain.accounts import Account, Plan
from exif_service.domain.errors import BadRequest, ServiceUnavailable
from exif_service.domain.plans import Limits, usage_day
from exif_service.services.accounts import forget_account
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
    """The user's Stripe customer, created on their first checkout.

    Two checkouts racing must not make two customers: the creation carries an idempotency key
    naming the user, so Stripe answers both with one customer, and the id is stored only if
    none is yet (the loser of that write uses the stored one).
    """
    customer_id, _ = billing.stripe_ids(account.user_id)
    if customer_id:
        return customer_id
    customer = client.v1.customers.create(
        params={"email": account.email, "metadata": {"user_id": account.user_id}},
        options={"idempotency_key": f"customer-for-user-{account.user_id}"},
    )
    if billing.claim_customer(account.user_id, str(customer.id)):
        return str(customer.id)
    stored, _ = billing.stripe_ids(account.user_id)
    if stored != customer.id:
        log.warning("stripe customer %s not kept: user has %s", customer.id, stored)
    return stored or str(customer.id)


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
    secret = settings.stripe_webhook_secret.get_secret_value()
    if not _signed_recently(signature):
        log.warning("stripe webhook refused: signature timestamp in the future or unreadable")
        raise BadRequest("Invalid Stripe signature.")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadRequest("Invalid Stripe signature.") from exc
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # signed by Stripe's secret, yet not an event the library can read
        log.warning("stripe webhook refused: malformed event (%s)", type(exc).__name__)
        raise BadRequest("Invalid Stripe event payload.") from exc
    event_id, event_type, obj, created = _event_parts(payload)
    if not billing.claim_event(event_id, event_type):
        log.info("stripe event %s already processed", event_id)
        return False
    try:
        _apply(event_type, obj, created)
    except BaseException:
        billing.release_event(event_id)
        raise
    return True


# Stripe's own check refuses timestamps older than this; ours refuses those as far ahead.
WEBHOOK_TOLERANCE_S = stripe.Webhook.DEFAULT_TOLERANCE


def _signed_recently(signature: str | None) -> bool:
    """False for a `t=` in the future beyond the tolerance (Stripe checks only the past)."""
    stamps = [p.split("=", 1)[1] for p in (signature or "").split(",") if p.startswith("t=")]
    if not stamps:
        return True  # the library refuses a header without one, with its own message
    try:
        return int(stamps[0]) <= time.time() + WEBHOOK_TOLERANCE_S
    except ValueError:
        return False


def _event_parts(payload: bytes) -> tuple[str, str, dict[str, Any], datetime]:
    """Id, type, object and time of a verified event; 400 when any has the wrong shape."""
    try:
        event = json.loads(payload)
        data = event["data"] if isinstance(event, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        event_id, event_type, stamp = event["id"], event["type"], event["created"]
        if not (
            isinstance(obj, dict)
            and isinstance(event_id, str)
            and isinstance(event_type, str)
            and isinstance(stamp, int)
        ):
            raise TypeError("unexpected shape")
        created = datetime.fromtimestamp(stamp, UTC)
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        log.warning("stripe webhook refused: malformed event (%s)", type(exc).__name__)
        raise BadRequest("Invalid Stripe event payload.") from exc
    return event_id, event_type, obj, created


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


def _apply_plan(user_id: str, plan: Plan, **changes: Any) -> bool:
    """Move the user to `plan` unless a newer event already moved them; a move takes effect
    at once for their API keys in this process (the key cache forgets them)."""
    applied = billing.apply_subscription(user_id, plan, **changes)
    if applied:
        forget_account(user_id)
    return applied


def _checkout_completed(obj: dict[str, Any], created: datetime) -> None:
    if obj.get("mode") != "subscription":
        return
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return
    user_id = _user_for(obj)
    if user_id is None:
        log.warning("checkout %s completed for no known user", obj.get("id"))
        return
    applied = _apply_plan(
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
        applied = _apply_plan(
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
    applied = _apply_plan(
        user_id, Plan.FREE, event_at=created, customer_id=customer_id, clear_subscription=True
    )
    log.info("subscription %s of user %s: free (applied=%s)", subscription_id, user_id, applied)
