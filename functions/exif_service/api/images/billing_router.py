"""Billing: plan and usage status, Stripe Checkout / Portal links, and the Stripe webhook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exif_service.api.images.deps import ImagesAccount, RawBody, SessionAccount, SiteUrl
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import (
    IMAGES_ERROR_EXAMPLES,
    BillingStatus,
    ImagesError,
    Link,
    WebhookAck,
    iso,
)
from exif_service.api.openapi import PUBLIC, STRIPE_WEBHOOK_BODY, error_responses, ok_response
from exif_service.services import billing

billing_router = APIRouter(route_class=ImagesRoute, tags=["billing"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, codes)


@billing_router.get(
    "/api/billing/status",
    responses={**ok_response(BillingStatus, "Plan and usage"), **_errors(401, 403, 500, 503)},
)
def billing_status(account: ImagesAccount) -> JSONResponse:
    """Plan, images used today, the plan's daily limit, and both plans' limits."""
    state = billing.status(account)
    return JSONResponse(
        {
            "ok": True,
            "plan": state.plan.value,
            "usage": state.used_today,
            "limit": state.limit,
            "remaining": max(0, state.limit - state.used_today),
            "resetsAt": iso(state.resets_at),
            "limits": {"free": state.limits.free, "pro": state.limits.pro},
        }
    )


@billing_router.post(
    "/api/billing/checkout",
    responses={**ok_response(Link, "Stripe Checkout"), **_errors(400, 401, 403, 500, 503)},
)
def checkout(account: SessionAccount, site: SiteUrl) -> JSONResponse:
    """A Stripe Checkout link for the Pro plan."""
    return JSONResponse({"ok": True, "url": billing.start_checkout(account, site)})


@billing_router.post(
    "/api/billing/portal",
    responses={**ok_response(Link, "The billing portal"), **_errors(400, 401, 403, 500, 503)},
)
def portal(account: SessionAccount, site: SiteUrl) -> JSONResponse:
    """A Stripe Billing Portal link to manage the subscription."""
    return JSONResponse({"ok": True, "url": billing.open_portal(account, site)})


@billing_router.post(
    "/api/billing/webhook",
    openapi_extra={**STRIPE_WEBHOOK_BODY, **PUBLIC},
    responses={**ok_response(WebhookAck, "Applied, or seen before"), **_errors(400, 500, 503)},
)
def webhook(request: Request, payload: RawBody) -> JSONResponse:
    """Stripe events, verified by signature and applied once each."""
    processed = billing.handle_webhook(payload, request.headers.get("stripe-signature"))
    return JSONResponse({"ok": True, "received": True, "duplicate": not processed})
