"""Sign-in throttling per account and per address, and the per-address limits of sign-up and
feedback: 429 with Retry-After in the images envelope, state in DynamoDB shared by every app."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from tests.support.sessions import PASSWORD, signed_in

from exif_service.domain.errors import TooManyAttempts, Unauthorized
from exif_service.services import accounts, throttle
from exif_service.settings import Settings, get_settings
from exif_service.store.models import ThrottleState

SIGN_IN = "/api/auth/sign-in/email"
SIGN_UP = "/api/auth/sign-up/email"
WRONG = "not the password"


def _app() -> FastAPI:
    from exif_service.local.app import create_local_app

    return create_local_app()


def _sign_in(client: TestClient, email: str, password: str) -> Response:
    return client.post(SIGN_IN, json={"email": email, "password": password})


def _assert_throttled(r: Response, most: int) -> int:
    assert r.status_code == 429, r.text
    assert r.json() == {
        "ok": False,
        "error": "too_many_attempts",
        "message": r.json()["message"],
    }
    assert "try again later" in r.json()["message"].lower()
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= most
    assert "set-cookie" not in r.headers
    return wait


@pytest.fixture
def app(aws: Settings) -> FastAPI:
    return _app()


def test_fifth_wrong_password_locks_the_account_and_even_the_right_one_gets_429(
    app: FastAPI,
) -> None:
    user = signed_in(app, "locked@example.com")
    client = TestClient(app)
    for _ in range(5):
        assert _sign_in(client, user.email, WRONG).status_code == 401
    _assert_throttled(_sign_in(client, user.email, PASSWORD), most=30)
    _assert_throttled(_sign_in(client, user.email.upper(), WRONG), most=30)
    # the already signed-in browser is not signed out by someone else's guessing
    assert user.client.get("/api/auth/get-session").json()["user"]["id"] == user.user_id


def test_thirty_simultaneous_guesses_get_at_most_six_password_checks(app: FastAPI) -> None:
    from exif_service.local.emulator import make_item_writes_atomic

    make_item_writes_atomic()  # moto serialises item writes as DynamoDB does
    user = signed_in(app, "burst@example.com")
    start = threading.Barrier(30)

    def guess(i: int) -> Response:
        client = TestClient(app, client=(f"198.51.100.{i}", 4000))  # a botnet: many addresses
        start.wait()
        return _sign_in(client, user.email, f"guess number {i}")

    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(guess, range(30)))

    checked = [r for r in responses if r.status_code == 401]
    refused = [r for r in responses if r.status_code == 429]
    # five free turns, and at most the one turn after a lockout: never thirty argon2 checks
    assert 5 <= len(checked) <= 6
    assert len(checked) + len(refused) == 30
    for r in refused:
        _assert_throttled(r, most=62)  # each request reads the clock when it starts
    _assert_throttled(_sign_in(TestClient(app), user.email, PASSWORD), most=60)


def test_the_lockout_holds_for_every_process_sharing_the_store(app: FastAPI) -> None:
    user = signed_in(app, "shared@example.com")
    first = TestClient(app)
    for _ in range(5):
        assert _sign_in(first, user.email, WRONG).status_code == 401
    # another app instance (another Lambda) knows nothing in memory, only what the table holds
    other = TestClient(_app())
    _assert_throttled(_sign_in(other, user.email, PASSWORD), most=30)
    items = list(ThrottleState.scan())
    assert items, "the state is kept in the throttle table"
    assert all(item.ttl is not None and item.ttl > datetime.now(UTC) for item in items)
    assert all(user.email not in item.subject for item in items)  # only a hash of the address


def test_another_account_from_the_same_address_still_signs_in(app: FastAPI) -> None:
    victim = signed_in(app, "victim@example.com")
    other = signed_in(app, "bystander@example.com")
    client = TestClient(app)
    for _ in range(5):
        _sign_in(client, victim.email, WRONG)
    assert _sign_in(client, other.email, PASSWORD).status_code == 200


def test_an_address_guessing_at_many_accounts_is_locked_after_twenty_failures(
    app: FastAPI,
) -> None:
    user = signed_in(app, "target@example.com")
    guesser = TestClient(app, client=("203.0.113.9", 4000))
    for i in range(20):
        # four guesses each at five accounts: no single account reaches its own limit
        r = _sign_in(guesser, f"nobody{i % 5}@example.com", WRONG)
        assert r.status_code == 401
    _assert_throttled(_sign_in(guesser, user.email, PASSWORD), most=30)
    # the account itself is not locked: its owner, elsewhere, signs in
    assert _sign_in(TestClient(app), user.email, PASSWORD).status_code == 200


def test_lockout_ends_doubles_with_each_further_failure_and_a_success_resets_it(
    aws: Settings,
) -> None:
    accounts.sign_up("clock@example.com", PASSWORD, "198.51.100.1")
    email, where = "clock@example.com", "198.51.100.2"
    t0 = time.time()

    def fail(at: float) -> None:
        with pytest.raises(Unauthorized):
            accounts.sign_in(email, WRONG, where, now=at)

    for i in range(5):
        fail(t0 + i)
    with pytest.raises(TooManyAttempts) as locked:
        accounts.sign_in(email, PASSWORD, where, now=t0 + 4.5)
    assert locked.value.retry_after == 30

    fail(t0 + 35)  # the sixth failure, after the first lockout: twice as long
    with pytest.raises(TooManyAttempts) as longer:
        accounts.sign_in(email, PASSWORD, where, now=t0 + 36)
    assert longer.value.retry_after == 59

    # after the lockout the right password works, and clears the account's count
    assert accounts.sign_in(email, PASSWORD, where, now=t0 + 96).account.email == email
    for i in range(4):
        fail(t0 + 97 + i)
    assert accounts.sign_in(email, PASSWORD, where, now=t0 + 102).account.email == email


def test_failures_are_forgotten_after_the_window(aws: Settings) -> None:
    accounts.sign_up("window@example.com", PASSWORD, "198.51.100.3")
    email, where = "window@example.com", "198.51.100.4"
    t0 = time.time()
    for i in range(4):
        with pytest.raises(Unauthorized):
            accounts.sign_in(email, WRONG, where, now=t0 + i)
    later = t0 + get_settings().attempt_window_s + 10
    with pytest.raises(Unauthorized):  # the fifth failure, but the first of a new window
        accounts.sign_in(email, WRONG, where, now=later)
    assert accounts.sign_in(email, PASSWORD, where, now=later + 1).account.email == email


def test_sign_ups_from_one_address_are_limited(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_SIGNUP_PER_ADDRESS", "3")
    get_settings.cache_clear()
    app = _app()
    crowd = TestClient(app, client=("192.0.2.7", 5000))
    for i in range(3):
        body = {"email": f"bulk{i}@example.com", "password": PASSWORD}
        assert crowd.post(SIGN_UP, json=body).status_code == 200
    blocked = crowd.post(SIGN_UP, json={"email": "bulk9@example.com", "password": PASSWORD})
    _assert_throttled(blocked, most=3600)
    assert accounts.valid_email("bulk9@example.com")  # a valid request, refused for its origin
    # nothing was created for the refused one; another address may still sign up
    fresh = TestClient(app, client=("192.0.2.8", 5000))
    r = fresh.post(SIGN_UP, json={"email": "bulk9@example.com", "password": PASSWORD})
    assert r.status_code == 200


def test_feedback_from_one_address_is_limited(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_FEEDBACK_PER_ADDRESS", "2")
    get_settings.cache_clear()
    app = _app()
    body = {"type": "feedback", "message": "Works nicely, thanks!", "email": "g@example.com"}
    spammer = TestClient(app, client=("192.0.2.20", 5000))
    for _ in range(2):
        assert spammer.post("/api/feedback", json=body).status_code == 200
    _assert_throttled(spammer.post("/api/feedback", json=body), most=3600)
    assert (
        TestClient(app, client=("192.0.2.21", 5000)).post("/api/feedback", json=body).status_code
        == 200
    )


def test_the_sign_up_window_reopens(aws: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXIF_SERVICE_SIGNUP_PER_ADDRESS", "1")
    get_settings.cache_clear()
    t0 = time.time()
    throttle.count_sign_up("192.0.2.30", now=t0)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.count_sign_up("192.0.2.30", now=t0 + 100)
    assert refused.value.retry_after == get_settings().attempt_window_s - 100
    throttle.count_sign_up("192.0.2.30", now=t0 + get_settings().attempt_window_s + 1)
