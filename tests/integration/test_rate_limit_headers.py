"""Rate-limit headers over HTTP on every surface: the daily allowance after each charge, and on
429 with Retry-After; the count comes from the charge itself, so a lookup carries none."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import KeyedUser

from exif_service.services.quota import used_today
from exif_service.settings import Settings, get_settings
from exif_service.store.accounts import get_user

PRO_LIMIT = 3
PER_ADDRESS_LIMIT = 2
DAY = 24 * 60 * 60


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXIF_SERVICE_PRO_DAILY_LIMIT", str(PRO_LIMIT))
    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_DAILY_LIMIT_PER_IP", str(PER_ADDRESS_LIMIT))
    get_settings.cache_clear()


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def v1_extract(client: TestClient, user: KeyedUser, photo: Path) -> Response:
    return client.post(
        "/api/v1/extract",
        headers={"X-API-Key": user.key},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )


def strip(client: TestClient, user: KeyedUser, photo: Path) -> Response:
    return client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {user.key}"},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )


def imagekit_upload(client: TestClient, user: KeyedUser, photo: Path) -> Response:
    return client.post(
        "/api/v1/files/upload",
        headers=basic(user.key),
        files={"file": ("photo.jpg", photo.read_bytes())},
        data={"fileName": "photo.jpg"},
    )


def remaining(r: Response) -> int:
    return int(r.headers["X-RateLimit-Remaining"])


def assert_daily_headers(r: Response, limit: int, left: int) -> None:
    assert r.headers["X-RateLimit-Limit"] == str(limit)
    assert remaining(r) == left
    assert 0 <= int(r.headers["X-RateLimit-Reset"]) <= DAY


def used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def test_v1_extract_counts_down_on_success_and_429_says_when_to_retry(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    for left in (2, 1, 0):
        r = v1_extract(client, pro_user, photo)
        assert r.status_code == 200, r.text
        assert_daily_headers(r, PRO_LIMIT, left)
        assert "Retry-After" not in r.headers
    r = v1_extract(client, pro_user, photo)
    assert r.status_code == 429
    assert r.json()["success"] is False
    assert_daily_headers(r, PRO_LIMIT, 0)
    # Retry-After is the wait until the counter starts again at 00:00 UTC
    assert int(r.headers["Retry-After"]) == max(int(r.headers["X-RateLimit-Reset"]), 1)
    assert used(pro_user) == PRO_LIMIT


def test_v1_remove_and_its_lookup_the_lookup_charges_nothing_and_says_nothing(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )
    assert r.status_code == 200, r.text
    assert_daily_headers(r, PRO_LIMIT, 2)
    lookup = client.get(f"/api/v1/extract/{r.json()['uuid']}")
    assert "X-RateLimit-Remaining" not in lookup.headers  # the count would cost a read


def test_image_tools_count_down_and_429_carries_the_headers(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    for left in (2, 1, 0):
        r = strip(client, pro_user, photo)
        assert r.status_code == 200, r.text
        assert_daily_headers(r, PRO_LIMIT, left)
    r = strip(client, pro_user, photo)
    assert r.status_code == 429
    assert r.json()["error"] == "limit_reached"
    assert_daily_headers(r, PRO_LIMIT, 0)
    assert int(r.headers["Retry-After"]) >= 1


def test_imagekit_keeps_its_millisecond_headers_on_success_and_on_429(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    for left in (2, 1, 0):
        r = imagekit_upload(client, pro_user, photo)
        assert r.status_code == 200, r.text
        assert r.headers["X-RateLimit-Limit"] == str(PRO_LIMIT)
        assert remaining(r) == left
        assert 0 <= int(r.headers["X-RateLimit-Reset"]) <= DAY * 1000
        assert r.headers["X-RateLimit-Interval"] == str(DAY * 1000)
    r = imagekit_upload(client, pro_user, photo)
    assert r.status_code == 429
    assert set(r.json()) == {"message", "help"}
    assert remaining(r) == 0
    assert 0 <= int(r.headers["X-RateLimit-Reset"]) <= DAY * 1000
    assert int(r.headers["Retry-After"]) >= 1
    # one of each header, not the surface's and the middleware's side by side
    assert len(r.headers.get_list("X-RateLimit-Limit")) == 1


def test_imagekit_metadata_of_a_url_is_charged_and_counted(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    file_id = imagekit_upload(client, pro_user, photo).json()["fileId"]
    details = client.get(f"/v1/files/{file_id}/details", headers=basic(pro_user.key))
    assert details.status_code == 200
    assert "X-RateLimit-Remaining" not in details.headers  # a lookup charges nothing
    url = details.json()["url"]
    r = client.get("/v1/metadata", params={"url": url}, headers=basic(pro_user.key))
    assert r.status_code == 200, r.text
    assert remaining(r) == 1


def test_the_allowance_is_one_count_across_every_surface(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    assert remaining(v1_extract(client, pro_user, photo)) == 2
    assert remaining(strip(client, pro_user, photo)) == 1
    assert remaining(imagekit_upload(client, pro_user, photo)) == 0
    assert used(pro_user) == PRO_LIMIT


def test_a_failed_file_is_given_back_and_the_headers_say_so(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    assert remaining(v1_extract(client, pro_user, photo)) == 2
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("notes.txt", b"plain text is no image")},
    )
    assert r.status_code == 415
    assert_daily_headers(r, PRO_LIMIT, 2)
    assert used(pro_user) == 1


def test_a_refused_batch_tells_how_many_are_left(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    assert remaining(v1_extract(client, pro_user, photo)) == 2
    data = photo.read_bytes()
    r = client.post(
        "/api/v1/extract/batch",
        headers={"X-API-Key": pro_user.key},
        files=[("file", (f"p{i}.jpg", data)) for i in range(3)],
    )
    assert r.status_code == 429
    assert_daily_headers(r, PRO_LIMIT, 2)
    assert "Retry-After" in r.headers


def test_the_public_viewer_counts_down_the_addresss_own_limit(
    client: TestClient, photo: Path, aws: Settings
) -> None:
    for left in (1, 0):
        r = client.post("/api/images/view-exif", files={"file": ("photo.jpg", photo.read_bytes())})
        assert r.status_code == 200, r.text
        assert_daily_headers(r, PER_ADDRESS_LIMIT, left)
    r = client.post("/api/images/view-exif", files={"file": ("photo.jpg", photo.read_bytes())})
    assert r.status_code == 429
    assert_daily_headers(r, PER_ADDRESS_LIMIT, 0)
    assert int(r.headers["Retry-After"]) >= 1


def test_v1_privacy_and_a_batch_count_down_by_what_they_charge(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = client.post(
        "/api/v1/privacy",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )
    assert r.status_code == 200, r.text
    assert_daily_headers(r, PRO_LIMIT, 2)
    r = client.post(
        "/api/v1/extract/batch",
        headers={"X-API-Key": pro_user.key},
        files=[("file", (f"p{i}.jpg", photo.read_bytes())) for i in range(2)],
    )
    assert r.status_code == 200, r.text
    assert_daily_headers(r, PRO_LIMIT, 0)
    assert used(pro_user) == PRO_LIMIT


def test_a_batch_with_a_failed_input_counts_it_as_given_back(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    r = client.post(
        "/api/v1/extract/batch",
        headers={"X-API-Key": pro_user.key},
        files=[("file", ("p.jpg", photo.read_bytes())), ("file", ("n.txt", b"no image"))],
    )
    assert r.status_code == 200, r.text
    assert [item["success"] for item in r.json()["results"]] == [True, False]
    assert_daily_headers(r, PRO_LIMIT, 2)
    assert used(pro_user) == 1


def test_the_public_privacy_report_counts_the_same_address_allowance(
    client: TestClient, photo: Path, aws: Settings
) -> None:
    r = client.post("/api/images/view-exif", files={"file": ("photo.jpg", photo.read_bytes())})
    assert_daily_headers(r, PER_ADDRESS_LIMIT, 1)
    r = client.post("/api/images/privacy-report", files={"file": ("photo.jpg", photo.read_bytes())})
    assert r.status_code == 200, r.text
    assert_daily_headers(r, PER_ADDRESS_LIMIT, 0)
