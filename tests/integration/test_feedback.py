"""Public feedback: validated as documented, stored, linked to the signed-in user if any."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import load_event
from tests.support.lambdas import invoke
from tests.support.sessions import signed_in

from exif_service.store.feedback import get_feedback

GUEST = {
    "type": "feature",
    "subject": "Bulk presets",
    "message": "Reusable metadata presets for bulk edits, please.",
    "name": "Jane",
    "email": "jane@example.com",
    "sourcePath": "/dashboard/feedback",
}


def test_guest_feedback_is_stored(client: TestClient) -> None:
    r = client.post("/api/feedback", json=GUEST)
    assert r.status_code == 200
    assert r.json()["ok"] is True
    stored = get_feedback(r.json()["id"])
    assert stored is not None
    assert stored.type == "feature"
    assert stored.subject == "Bulk presets"
    assert stored.message == GUEST["message"]
    assert stored.name == "Jane"
    assert stored.email == "jane@example.com"
    assert stored.source_path == "/dashboard/feedback"
    assert stored.user_id is None


def test_minimal_guest_feedback_needs_only_type_message_email(client: TestClient) -> None:
    body = {"type": "feedback", "message": "Works great!", "email": "a@example.com"}
    r = client.post("/api/feedback", json=body)
    assert r.status_code == 200
    stored = get_feedback(r.json()["id"])
    assert stored is not None
    assert stored.subject is None


def test_guest_without_email_is_400(client: TestClient) -> None:
    body = {k: v for k, v in GUEST.items() if k != "email"}
    r = client.post("/api/feedback", json=body)
    assert r.status_code == 400
    assert r.json() == {"ok": False, "message": "email is required when you are not signed in."}


def test_signed_in_user_may_leave_out_email(client: TestClient) -> None:
    browser = signed_in(client.app, "fan@example.com")
    body = {"type": "feedback", "message": "The strip tool saved my day."}
    r = browser.client.post("/api/feedback", json=body)
    assert r.status_code == 200
    stored = get_feedback(r.json()["id"])
    assert stored is not None
    assert stored.user_id == browser.user_id
    assert stored.email == "fan@example.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "bug"}, "type must be 'feedback' or 'feature'."),
        ({"type": None}, "type must be 'feedback' or 'feature'."),
        ({"message": "too short"}, "message must be at least 10 characters."),
        ({"message": "   short     "}, "message must be at least 10 characters."),
        ({"message": None}, "message must be at least 10 characters."),
        ({"message": 12345678901}, "message must be text."),
        ({"message": "m" * 5001}, "message must be at most 5000 characters."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"subject": "s" * 201}, "subject must be at most 200 characters."),
        ({"name": "n" * 101}, "name must be at most 100 characters."),
        ({"sourcePath": "/" * 501}, "sourcePath must be at most 500 characters."),
    ],
)
def test_invalid_feedback_is_400_naming_the_field(
    client: TestClient, change: dict[str, Any], message: str
) -> None:
    r = client.post("/api/feedback", json=GUEST | change)
    assert r.status_code == 400
    assert r.json() == {"ok": False, "message": message}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"content": b"type=feature", "headers": {"Content-Type": "application/json"}},
        {"json": ["feature", "a message long enough"]},
        {"json": GUEST | {"message": {"nested": "object"}}},
    ],
)
def test_malformed_feedback_body_is_400(client: TestClient, kwargs: dict[str, Any]) -> None:
    r = client.post("/api/feedback", **kwargs)
    assert r.status_code == 400
    assert r.json()["ok"] is False


def test_feedback_with_session_from_foreign_origin_is_403(client: TestClient) -> None:
    browser = signed_in(client.app, "csrf-fb@example.com")
    r = browser.client.post("/api/feedback", json=GUEST, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_feedback_lambda_stores_submission(client: TestClient) -> None:
    status, body, _ = invoke("feedback", load_event("feedback_submit.json"))
    assert status == 200
    assert body["ok"] is True
    stored = get_feedback(body["id"])
    assert stored is not None
    assert stored.email == "jane@example.com"
