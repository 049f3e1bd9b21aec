"""Idempotency-Key over HTTP against the app on moto: a retry gets the first answer and is not
charged again; another request under the same key is a 422; racing retries charge once."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from tests.conftest import KeyedUser, make_user
from tests.support.faults import FaultProxy, proxied_store
from tests.support.media import exiftool, make_photo

from exif_service.domain.idempotency import KEEP_SECONDS
from exif_service.services.quota import used_today
from exif_service.settings import Settings, get_settings
from exif_service.store.accounts import get_user, list_api_keys
from exif_service.store.blobs import Blobs

REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def item_level_atomic_dynamodb() -> None:
    """moto made to serialise item writes as DynamoDB does (the local server runs it so too)."""
    from exif_service.local.emulator import make_item_writes_atomic

    make_item_writes_atomic()


def fresh_key() -> str:
    return f"retry-{uuid.uuid4()}"


def used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def extract(
    client: TestClient, user: KeyedUser, data: bytes, key: str, name: str = "photo.jpg"
) -> Response:
    # httpx draws a new multipart boundary for every request, as curl and browsers do
    return client.post(
        "/api/v1/extract",
        headers={"X-API-Key": user.key, "Idempotency-Key": key},
        files={"file": (name, data)},
    )


def strip(client: TestClient, user: KeyedUser, data: bytes, key: str) -> Response:
    return client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {user.key}", "Idempotency-Key": key},
        files={"file": ("photo.jpg", data)},
    )


def large_photo(path: Path) -> Path:
    """A JPEG of noise, larger than what a record holds inline (its answer goes to S3)."""
    noisy = Image.effect_noise((700, 700), 120).convert("RGB")
    noisy.save(path, "JPEG", quality=98)
    exiftool("-q", "-overwrite_original", "-GPSLatitude=48.85", "-GPSLatitudeRef=N", str(path))
    return path


def test_a_retried_extract_gets_the_first_answer_and_is_not_charged_again(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    key = fresh_key()
    first = extract(client, pro_user, photo.read_bytes(), key)
    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    assert used(pro_user) == 1

    again = extract(client, pro_user, photo.read_bytes(), key)
    assert again.status_code == 200
    assert again.content == first.content  # the same uuid, the same metadata
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers[REPLAYED] == "true"
    assert "X-RateLimit-Remaining" not in again.headers  # nothing was charged
    assert used(pro_user) == 1
    # the answer it replays is a real, stored extraction
    lookup = client.get(f"/api/v1/extract/{first.json()['uuid']}")
    assert lookup.json()["metadata"] == first.json()["metadata"]


def test_a_retried_strip_returns_the_same_cleaned_bytes_from_the_store(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path, aws: Settings
) -> None:
    source = large_photo(tmp_path / "big.jpg")
    assert source.stat().st_size > 192 * 1024  # over what a record keeps inline
    key = fresh_key()
    first = strip(client, pro_user, source.read_bytes(), key)
    assert first.status_code == 200, first.text
    again = strip(client, pro_user, source.read_bytes(), key)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["X-Metadata-Verified"] == "true"
    assert again.headers["content-disposition"] == first.headers["content-disposition"]
    assert used(pro_user) == 1
    # a user reading the replayed file finds no GPS left in it
    cleaned = tmp_path / "again.jpg"
    cleaned.write_bytes(again.content)
    assert "GPS" not in exiftool("-a", "-G1", str(cleaned))
    assert any(k.startswith("results/idempotency/") for k in Blobs().keys("results/"))


def test_a_small_file_answer_is_replayed_byte_for_byte(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    key = fresh_key()
    first = strip(client, pro_user, photo.read_bytes(), key)
    again = strip(client, pro_user, photo.read_bytes(), key)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and first.content != photo.read_bytes()
    assert used(pro_user) == 1


def test_the_same_key_with_another_file_another_path_or_query_is_a_422(
    client: TestClient, pro_user: KeyedUser, photo: Path, tmp_path: Path
) -> None:
    key = fresh_key()
    assert extract(client, pro_user, photo.read_bytes(), key).status_code == 200
    other = make_photo(tmp_path / "other.jpg", **{"XMP-dc:Title": "Lyon"})
    r = extract(client, pro_user, other.read_bytes(), key)
    assert r.status_code == 422
    assert r.json()["success"] is False and "Idempotency-Key" in r.json()["error"]
    renamed = extract(client, pro_user, photo.read_bytes(), key, name="renamed.jpg")
    assert renamed.status_code == 422
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key, "Idempotency-Key": key},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/extract?struct=true",
        headers={"X-API-Key": pro_user.key, "Idempotency-Key": key},
        files={"file": ("photo.jpg", photo.read_bytes())},
    )
    assert r.status_code == 422
    assert used(pro_user) == 1


@pytest.mark.usefixtures("item_level_atomic_dynamodb")
def test_simultaneous_retries_run_once_and_the_others_wait_or_replay(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    key = fresh_key()
    data = photo.read_bytes()
    start = threading.Barrier(6)

    def send(_: int) -> Response:
        start.wait()
        return strip(client, pro_user, data, key)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(send, range(6)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 409}, codes
    assert 200 in codes
    bodies = {r.content for r in responses if r.status_code == 200}
    assert len(bodies) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.headers["Retry-After"] == "1"
            assert r.json()["ok"] is False
    assert used(pro_user) == 1
    # once the first has answered, a retry gets that answer
    late = strip(client, pro_user, data, key)
    assert late.status_code == 200 and late.content in bodies
    assert used(pro_user) == 1


@pytest.mark.parametrize(
    "hostile",
    [
        b"",
        b"k" * 256,
        b"caf\xc3\xa9",
        b"tab\there",
        b"nul\x00byte",
        b"bell\x07",
        b"del\x7f",
    ],
    ids=["empty", "256-chars", "utf8", "tab", "nul", "control", "del"],
)
def test_a_malformed_key_is_a_400_in_each_surfaces_envelope_and_costs_nothing(
    client: TestClient, pro_user: KeyedUser, photo: Path, hostile: bytes
) -> None:
    data = photo.read_bytes()
    v1 = client.post(
        "/api/v1/extract",
        headers=[(b"x-api-key", pro_user.key.encode()), (b"idempotency-key", hostile)],
        files={"file": ("photo.jpg", data)},
    )
    assert v1.status_code == 400
    assert v1.json() == {"success": False, "error": v1.json()["error"]}
    assert "Idempotency-Key" in v1.json()["error"]
    images = client.post(
        "/api/images/strip-exif",
        headers=[
            (b"authorization", f"Bearer {pro_user.key}".encode()),
            (b"idempotency-key", hostile),
        ],
        files={"file": ("photo.jpg", data)},
    )
    assert images.status_code == 400 and images.json()["ok"] is False
    imagekit = client.post(
        "/api/v1/files/upload",
        headers=[
            *((n.encode(), v.encode()) for n, v in basic(pro_user.key).items()),
            (b"idempotency-key", hostile),
        ],
        files={"file": ("photo.jpg", data)},
        data={"fileName": "photo.jpg"},
    )
    assert imagekit.status_code == 400 and set(imagekit.json()) == {"message", "help"}
    assert used(pro_user) == 0


def test_the_longest_key_and_every_printable_character_are_accepted(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    for key in ("k" * 255, printable, " spaces inside "):
        r = extract(client, pro_user, photo.read_bytes(), key)
        assert r.status_code == 200, (key, r.text)
    assert used(pro_user) == 3


def test_after_24_hours_the_key_is_new_again(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    now = time.time()
    client.app.state.idempotency_clock = lambda: now  # type: ignore[attr-defined]
    key = fresh_key()
    first = extract(client, pro_user, photo.read_bytes(), key)
    client.app.state.idempotency_clock = lambda: now + KEEP_SECONDS - 1  # type: ignore[attr-defined]
    assert extract(client, pro_user, photo.read_bytes(), key).content == first.content
    assert used(pro_user) == 1
    client.app.state.idempotency_clock = lambda: now + KEEP_SECONDS + 1  # type: ignore[attr-defined]
    later = extract(client, pro_user, photo.read_bytes(), key)
    assert later.status_code == 200
    assert REPLAYED not in later.headers
    assert later.json()["uuid"] != first.json()["uuid"]
    assert used(pro_user) == 2


def test_a_4xx_answer_is_kept_and_replayed(client: TestClient, pro_user: KeyedUser) -> None:
    key = fresh_key()
    first = extract(client, pro_user, b"plain text is no image", key, name="notes.txt")
    assert first.status_code == 415
    again = extract(client, pro_user, b"plain text is no image", key, name="notes.txt")
    assert again.status_code == 415 and again.content == first.content
    assert again.headers[REPLAYED] == "true"
    assert used(pro_user) == 0


def test_a_429_is_not_kept_so_the_retry_runs_again(
    client: TestClient, photo: Path, aws: Settings
) -> None:
    free = make_user("free-idem@example.com", "free")
    from exif_service.store.sessions import create_session

    token, _ = create_session(free.user_id, timedelta(hours=1))
    cookie = {"Cookie": f"exs_session={token}"}
    data = photo.read_bytes()
    for _ in range(5):
        r = client.post("/api/images/strip-exif", headers=cookie, files={"file": ("p.jpg", data)})
        assert r.status_code == 200
    key = fresh_key()
    headers = {**cookie, "Idempotency-Key": key}
    r = client.post("/api/images/strip-exif", headers=headers, files={"file": ("p.jpg", data)})
    assert r.status_code == 429
    r = client.post("/api/images/strip-exif", headers=headers, files={"file": ("p.jpg", data)})
    assert r.status_code == 429
    assert REPLAYED not in r.headers and "Retry-After" in r.headers


def test_keys_are_scoped_to_the_caller(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    other = make_user("other-pro@example.com", "pro")
    key = fresh_key()
    mine = extract(client, pro_user, photo.read_bytes(), key)
    theirs = extract(client, other, photo.read_bytes(), key)
    assert mine.status_code == theirs.status_code == 200
    assert REPLAYED not in theirs.headers
    assert mine.json()["uuid"] != theirs.json()["uuid"]
    assert used(pro_user) == used(other) == 1


def test_a_retried_key_creation_creates_one_key(client: TestClient, pro_user: KeyedUser) -> None:
    from exif_service.store.sessions import create_session

    token, _ = create_session(pro_user.user_id, timedelta(hours=1))
    headers = {"Cookie": f"exs_session={token}", "Idempotency-Key": fresh_key()}
    before = len(list_api_keys(pro_user.user_id))
    first = client.post("/api/keys", headers=headers, json={"name": "CI"})
    again = client.post("/api/keys", headers=headers, json={"name": "CI"})
    assert first.status_code == again.status_code
    assert first.status_code < 300, first.text
    assert again.json() == first.json()
    assert again.headers["cache-control"] == "no-store"
    assert len(list_api_keys(pro_user.user_id)) == before + 1


def test_a_retried_imagekit_upload_keeps_one_file(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    def upload() -> Response:
        return client.post(
            "/api/v1/files/upload",
            headers={**basic(pro_user.key), "Idempotency-Key": "upload-1"},
            files={"file": ("photo.jpg", photo.read_bytes())},
            data={"fileName": "photo.jpg", "folder": "/trips"},
        )

    first, again = upload(), upload()
    assert first.status_code == again.status_code == 200
    assert again.json()["fileId"] == first.json()["fileId"]
    listed: list[dict[str, Any]] = client.get(
        "/v1/files", params={"path": "/trips/"}, headers=basic(pro_user.key)
    ).json()
    assert len(listed) == 1
    assert used(pro_user) == 1


def test_a_retried_presigned_upload_grant_is_the_same_grant(
    client: TestClient, pro_user: KeyedUser
) -> None:
    headers = {"X-API-Key": pro_user.key, "Idempotency-Key": fresh_key()}
    body = {"operation": "extract", "fileName": "big.jpg"}
    first = client.post("/api/v1/uploads", headers=headers, json=body)
    again = client.post("/api/v1/uploads", headers=headers, json=body)
    assert first.status_code == again.status_code
    assert first.status_code < 300, first.text
    assert again.json() == first.json()
    assert used(pro_user) == 1


def test_anonymous_callers_are_not_deduplicated(client: TestClient, photo: Path) -> None:
    headers = {"Idempotency-Key": fresh_key()}
    data = photo.read_bytes()
    for _ in range(2):
        r = client.post("/api/images/view-exif", headers=headers, files={"file": ("p.jpg", data)})
        assert r.status_code == 200
        assert REPLAYED not in r.headers
    assert int(r.headers["X-RateLimit-Remaining"]) == int(r.headers["X-RateLimit-Limit"]) - 2


def test_without_the_header_nothing_is_kept(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    from exif_service.store.models import IdempotencyItem

    for _ in range(2):
        r = client.post(
            "/api/v1/extract",
            headers={"X-API-Key": pro_user.key},
            files={"file": ("photo.jpg", photo.read_bytes())},
        )
        assert r.status_code == 200
    assert used(pro_user) == 2
    assert list(IdempotencyItem.scan()) == []


# --- with the store failing: faults injected by a proxy in front of moto's server


@pytest.fixture
def faulty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated_env: None
) -> Iterator[tuple[FaultProxy, TestClient]]:
    """The local app talking to moto's server through the fault-injecting proxy."""
    from exif_service.local.app import create_local_app

    with proxied_store(monkeypatch, store_read_timeout_s="1", run_schedules="false") as proxy:
        yield proxy, TestClient(create_local_app())


def test_a_5xx_is_not_kept_so_the_retry_runs_and_is_charged_once(
    faulty: tuple[FaultProxy, TestClient], photo: Path
) -> None:
    proxy, client = faulty
    user = make_user("faults@example.com", "pro")
    headers = {"X-API-Key": user.key, "Idempotency-Key": fresh_key()}
    proxy.fail_s3("PUT", "results/")  # the cleaned copy cannot be stored
    failed = client.post(
        "/api/v1/remove", headers=headers, files={"file": ("p.jpg", photo.read_bytes())}
    )
    assert failed.status_code == 503
    assert used(user) == 0  # given back
    proxy.clear()
    retried = client.post(
        "/api/v1/remove", headers=headers, files={"file": ("p.jpg", photo.read_bytes())}
    )
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert used(user) == 1
    again = client.post(
        "/api/v1/remove", headers=headers, files={"file": ("p.jpg", photo.read_bytes())}
    )
    assert again.content == retried.content and again.headers[REPLAYED] == "true"
    assert used(user) == 1


def test_when_the_key_cannot_be_recorded_nothing_runs(
    faulty: tuple[FaultProxy, TestClient], photo: Path
) -> None:
    proxy, client = faulty
    user = make_user("faults2@example.com", "pro")
    proxy.fail_dynamodb("PutItem", get_settings().table_name("idempotency"))
    r = client.post(
        "/api/v1/extract",
        headers={"X-API-Key": user.key, "Idempotency-Key": fresh_key()},
        files={"file": ("p.jpg", photo.read_bytes())},
    )
    assert r.status_code == 503
    assert r.json()["success"] is False and "Throttling" not in r.text
    assert used(user) == 0


def test_through_the_lambda_handler_the_retry_is_replayed_and_charged_once(
    aws: Settings, pro_user: KeyedUser
) -> None:
    from tests.conftest import load_event
    from tests.support.lambdas import LambdaContext

    from exif_service.handlers.images import handler

    def event() -> dict[str, Any]:
        loaded = load_event("images_strip_exif.json")
        loaded["headers"]["authorization"] = f"Bearer {pro_user.key}"
        loaded["headers"]["idempotency-key"] = "lambda-retry-1"
        return loaded

    first = handler(event(), LambdaContext())
    assert first["statusCode"] == 200, first["body"][:200]
    first_headers = {k.lower(): v for k, v in first["headers"].items()}
    assert first_headers["x-ratelimit-remaining"] == str(
        int(first_headers["x-ratelimit-limit"]) - 1
    )
    again = handler(event(), LambdaContext())
    headers = {k.lower(): v for k, v in again["headers"].items()}
    assert again["statusCode"] == 200
    assert headers["idempotent-replayed"] == "true"
    assert again["body"] == first["body"] and again["isBase64Encoded"] is True
    assert used(pro_user) == 1


def test_a_replayed_redirect_to_a_large_file_gets_a_fresh_link_to_the_same_bytes(
    client: TestClient,
    pro_user: KeyedUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests

    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "true")
    get_settings.cache_clear()
    noise = [Image.effect_noise((1300, 1300), 120) for _ in range(3)]
    big = tmp_path / "big.jpg"
    Image.merge("RGB", noise).save(big, "JPEG", quality=98, subsampling=0)
    assert big.stat().st_size > 4 * 1024 * 1024  # above what a Lambda answer carries
    key = fresh_key()
    headers = {"Authorization": f"Bearer {pro_user.key}", "Idempotency-Key": key}

    def send() -> Response:
        return client.post(
            "/api/images/strip-exif",
            headers=headers,
            files={"file": ("big.jpg", big.read_bytes())},
            follow_redirects=False,
        )

    first = send()
    assert 300 <= first.status_code < 400, first.text
    cleaned = requests.get(first.headers["location"], timeout=30).content
    monkeypatch.setenv("EXIF_SERVICE_PRESIGN_TTL_S", "301")
    get_settings.cache_clear()
    again = send()
    assert again.status_code == first.status_code
    assert again.headers[REPLAYED] == "true"
    # signed again now, not the first link (which expires minutes after the first answer)
    assert "X-Amz-Expires=301" in again.headers["location"]
    assert requests.get(again.headers["location"], timeout=30).content == cleaned
    assert cleaned[:2] == b"\xff\xd8" and len(cleaned) > 4 * 1024 * 1024
    assert used(pro_user) == 1


def test_a_body_over_the_cap_is_refused_before_the_key_is_taken(
    aws: Settings, pro_user: KeyedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.local.app import create_local_app
    from exif_service.store.models import IdempotencyItem

    monkeypatch.setenv("EXIF_SERVICE_MAX_UPLOAD_BYTES", str(200 * 1024))
    get_settings.cache_clear()
    client = TestClient(create_local_app())
    headers = {"X-API-Key": pro_user.key, "Idempotency-Key": fresh_key()}
    big = b"\xff\xd8" + b"\x00" * (400 * 1024)
    r = client.post("/api/v1/extract", headers=headers, files={"file": ("big.jpg", big)})
    assert r.status_code == 413
    assert r.json()["success"] is False
    assert list(IdempotencyItem.scan()) == []
    assert used(pro_user) == 0


def test_a_malformed_multipart_body_is_answered_and_replayed_like_any_bad_request(
    client: TestClient, pro_user: KeyedUser
) -> None:
    headers = {
        "X-API-Key": pro_user.key,
        "Idempotency-Key": fresh_key(),
        "Content-Type": "multipart/form-data; boundary=xyz",
    }
    garbage = b"--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\nno closing boundary"
    first = client.post("/api/v1/extract", headers=headers, content=garbage)
    assert first.status_code == 400, first.text
    again = client.post("/api/v1/extract", headers=headers, content=garbage)
    assert again.status_code == 400 and again.content == first.content
    assert again.headers[REPLAYED] == "true"
    other = client.post("/api/v1/extract", headers=headers, content=garbage + b"!")
    assert other.status_code == 422
    assert used(pro_user) == 0
