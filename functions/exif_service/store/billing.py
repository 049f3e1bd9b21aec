"""Billing records: processed Stripe events (idempotency) and a user's Stripe ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from exif_service.domain.accounts import Plan
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.models import StripeEvent, User

# Stripe retries a webhook for up to three days; remember events well past that
_EVENT_MEMORY = timedelta(days=30)


@translate_faults
def claim_event(event_id: str, event_type: str) -> bool:
    """Record an event as being processed; False if it was already recorded."""
    now = datetime.now(UTC)
    item = StripeEvent(
        event_id=event_id, type=event_type, processed_at=now, ttl=now + _EVENT_MEMORY
    )
    return conditional_write(lambda: item.save(condition=StripeEvent.event_id.does_not_exist()))


@translate_faults
def release_event(event_id: str) -> None:
    """Forget an event whose processing failed, so Stripe's retry is processed."""
    StripeEvent(event_id=event_id).delete()


@translate_faults
def stripe_ids(user_id: str) -> tuple[str | None, str | None]:
    """The user's Stripe customer and subscription ids (None where there is none)."""
    try:
        user = User.get(user_id)
    except DoesNotExist:
        return None, None
    return user.stripe_customer_id, user.stripe_subscription_id


@translate_faults
def claim_customer(user_id: str, customer_id: str) -> bool:
    """Store the user's Stripe customer unless they already have another; False if they do."""
    user = User(user_id=user_id)
    unset = User.user_id.exists() & (
        User.stripe_customer_id.does_not_exist() | (User.stripe_customer_id == customer_id)
    )
    return conditional_write(
        lambda: user.update(actions=[User.stripe_customer_id.set(customer_id)], condition=unset)
    )


@translate_faults
def user_for_customer(customer_id: str) -> str | None:
    """The user whose Stripe customer this is (a scan: webhooks carry the user id first)."""
    for user in User.scan(User.stripe_customer_id == customer_id, limit=None):
        return user.user_id
    return None


@translate_faults
def user_exists(user_id: str) -> bool:
    try:
        User.get(user_id, attributes_to_get=["user_id"])
    except DoesNotExist:
        return False
    return True


@translate_faults
def apply_subscription(
    user_id: str,
    plan: Plan,
    *,
    event_at: datetime,
    customer_id: str | None = None,
    subscription_id: str | None = None,
    clear_subscription: bool = False,
) -> bool:
    """Move the user to `plan` and remember the Stripe ids that moved them.

    False (and nothing changed) when a newer event has already been applied to the user:
    Stripe does not deliver events in order.
    """
    actions: list[Action] = [User.plan.set(plan.value), User.stripe_event_at.set(event_at)]
    if customer_id:
        actions.append(User.stripe_customer_id.set(customer_id))
    if clear_subscription:
        actions.append(User.stripe_subscription_id.remove())
    elif subscription_id:
        actions.append(User.stripe_subscription_id.set(subscription_id))
    in_order = User.stripe_event_at.does_not_exist() | (User.stripe_event_at <= event_at)
    condition = User.user_id.exists() & in_order
    user = User(user_id=user_id)
    return conditional_write(lambda: user.update(actions=actions, condition=condition))
