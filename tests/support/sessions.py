"""Signed-in browser clients for tests of the images surface (sessions, keys, billing)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
SESSION_COOKIE = "exs_session"


@dataclass
class Browser:
    """A TestClient holding one user's session cookie."""

    client: TestClient
    user_id: str
    email: str

    @property
    def token(self) -> str:
        return str(self.client.cookies.get(SESSION_COOKIE))


def signed_in(app: FastAPI, email: str, plan: str = "free", admin: bool = False) -> Browser:
    """Sign a new user up through the API, then put them on `plan`."""
    from exif_service.domain.accounts import Plan
    from exif_service.store.accounts import set_plan, upsert_user

    client = TestClient(app)
    response = client.post("/api/auth/sign-up/email", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    user_id = response.json()["user"]["id"]
    if plan != "free":
        set_plan(user_id, Plan(plan))
    if admin:
        upsert_user(email, is_admin=True)
    return Browser(client, user_id, email)


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value, computed as Stripe does (HMAC-SHA256, scheme v1)."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def stripe_event(
    event_id: str, event_type: str, obj: dict[str, Any], created: int | None = None
) -> bytes:
    """A webhook body in Stripe's event shape."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()
