"""Daily limits on the image tools: exact under concurrency, refunded when the work fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import KeyedUser

from exif_service.services.quota import used_today
from exif_service.store.accounts import get_user

LIMIT_BODY = {
    "ok": False,
    "error": "limit_reached",
    "message": "Daily limit of 5 images reached. Upgrade your plan for more.",
    "upgradeUrl": "/pricing",
}


@pytest.fixture(autouse=True)
def _engine_started_by_main_thread() -> None:
    from exif_service.engine.exiftool import get_pool

    get_pool().warm()


@pytest.fixture
def item_level_atomic_dynamodb() -> None:
    """moto made to serialise item writes as DynamoDB does (the local server runs it so too)."""
    from exif_service.local.emulator import make_item_writes_atomic

    make_item_writes_atomic()


def signed_in(user: KeyedUser) -> dict[str, str]:
    from exif_service.store.sessions import create_session

    token, _ = create_session(user.user_id, timedelta(hours=1))
    return {"Cookie": f"exs_session={token}"}


def used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


@pytest.mark.usefixtures("item_level_atomic_dynamodb")
def test_twenty_simultaneous_requests_of_a_free_user_give_five_images(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    headers = signed_in(free_user)
    data = photo.read_bytes()
    start = threading.Barrier(20)

    def strip(_: int) -> Response:
        start.wait()
        return client.post(
            "/api/images/strip-exif", headers=headers, files={"file": ("photo.jpg", data)}
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(strip, range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 5 + [429] * 15
    for r in responses:
        if r.status_code == 429:
            assert r.json() == LIMIT_BODY
    assert used(free_user) == 5


def test_free_plan_sixth_image_gets_429(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    headers = signed_in(free_user)
    for _ in range(5):
        r = client.post(
            "/api/images/strip-exif", headers=headers, files={"file": ("p.jpg", photo.read_bytes())}
        )
        assert r.status_code == 200
    r = client.post(
        "/api/images/geo-exif",
        headers=headers,
        files={"file": ("p.jpg", photo.read_bytes())},
        data={"latitude": "1", "longitude": "2"},
    )
    assert r.status_code == 429
    assert r.json() == LIMIT_BODY


def test_a_failing_request_gives_its_unit_back(
    client: TestClient, free_user: KeyedUser, photo: Path
) -> None:
    headers = signed_in(free_user)
    r = client.post(
        "/api/images/strip-exif", headers=headers, files={"file": ("notes.jpg", b"not an image")}
    )
    assert r.status_code == 415
    r = client.post(
        "/api/images/advanced-edit",
        headers=headers,
        files={"file": ("p.jpg", photo.read_bytes())},
        data={"fields": '{"NoSuchTag": 1}'},
    )
    assert r.status_code == 400
    assert used(free_user) == 0
    r = client.post(
        "/api/images/strip-exif", headers=headers, files={"file": ("p.jpg", photo.read_bytes())}
    )
    assert r.status_code == 200
    assert used(free_user) == 1


def test_view_exif_is_limited_per_client_ip(
    client: TestClient, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_DAILY_LIMIT_PER_IP", "2")
    get_settings.cache_clear()
    for _ in range(2):
        r = client.post("/api/images/view-exif", files={"file": ("p.jpg", photo.read_bytes())})
        assert r.status_code == 200
    r = client.post("/api/images/view-exif", files={"file": ("p.jpg", photo.read_bytes())})
    assert r.status_code == 429
    assert r.json()["error"] == "limit_reached"
    assert r.json()["upgradeUrl"] == "/pricing"
