"""A sign-in the store could not answer is no failure: its throttle turns are given back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.support.faults import FaultProxy, proxied_store
from tests.support.sessions import PASSWORD

from exif_service.domain.accounts import hash_key
from exif_service.settings import get_settings
from exif_service.store.aws import reset_clients
from exif_service.store.models import ThrottleState

SIGN_IN = "/api/auth/sign-in/email"


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FaultProxy, TestClient]]:
    """moto's server behind the fault proxy, and the local app pointed at the proxy."""
    from exif_service.local.app import create_local_app

    with proxied_store(monkeypatch, store_read_timeout_s="1", store_connect_timeout_s="1") as proxy:
        yield proxy, TestClient(create_local_app())
        get_settings.cache_clear()
        reset_clients()


def _attempts(subject: str) -> int:
    return int(ThrottleState.get(subject, consistent_read=True).attempts)


def test_a_sign_in_the_store_could_not_check_gives_its_turns_back(
    proxied: tuple[FaultProxy, TestClient],
) -> None:
    proxy, client = proxied
    email = "unlucky@example.com"
    credentials = {"email": email, "password": PASSWORD}
    assert client.post("/api/auth/sign-up/email", json=credentials).status_code == 200
    proxy.fail_dynamodb("GetItem", get_settings().table_name("emails"), kind="throttle")

    r = client.post(SIGN_IN, json=credentials)

    assert r.status_code == 503
    assert "Retry-After" in r.headers
    proxy.clear()
    assert _attempts(f"signin-account:{hash_key(email)}") == 0
    assert _attempts("signin-address:testclient") == 0
    assert client.post(SIGN_IN, json=credentials).status_code == 200
