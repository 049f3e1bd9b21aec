"""Store faults: DynamoDB or S3 throttling, failing, refusing or timing out.

The app runs against moto's server through a fault-injecting proxy (tests/support/faults.py)
that fails the calls a test chooses, so the app's real clients meet the real error bodies and
broken connections. Every case checks what the caller hears (503, the surface's envelope,
Retry-After, no botocore text), that the image was given back, and that nothing half-written
was left behind: no job or history row without its file, no file without its row.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, load_event, make_user
from tests.support.faults import FaultProxy, Kind, proxied_store
from tests.support.lambdas import LambdaContext
from tests.support.media import make_photo

from exif_service.domain.errors import StoreUnavailable
from exif_service.domain.plans import usage_day
from exif_service.settings import Settings, get_settings
from exif_service.store import usage
from exif_service.store.blobs import Blobs
from exif_service.store.models import Extraction, FileRecord, LibraryFile

RETRY_AFTER = "7"
# what the callers must never see: the store's own words
_LEAKS = ("Throttling", "ProvisionedThroughput", "SlowDown", "botocore", "Endpoint", "timed out")


@dataclass(frozen=True)
class Stack:
    proxy: FaultProxy
    client: TestClient
    photo: bytes


# short deadlines so a held call times out in a second; standard retries stay on
_DEADLINES = {
    "store_read_timeout_s": "1",
    "store_connect_timeout_s": "1",
    "store_retry_after_s": RETRY_AFTER,
    "run_schedules": "false",
}


def _point_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Settings:
    from exif_service.store.aws import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name, value in _DEADLINES.items():
        monkeypatch.setenv(f"EXIF_SERVICE_{name.upper()}", value)
    get_settings.cache_clear()
    reset_clients()
    return get_settings()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """moto's server, the proxy in front of it, and the local app pointed at the proxy."""
    from exif_service.local.app import create_local_app

    with pytest.MonkeyPatch.context() as monkeypatch:
        with proxied_store(monkeypatch, **_DEADLINES) as proxy:
            photo = make_photo(tmp_path_factory.mktemp("faults") / "photo.jpg")
            yield Stack(proxy, TestClient(create_local_app()), photo.read_bytes())
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _through_the_proxy(
    stack: Stack, _isolated_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test starts with no faults and the app's settings pointed at the proxy."""
    _point_at(monkeypatch, stack.proxy.url)
    stack.proxy.clear()
    yield
    stack.proxy.clear()


def _table(name: str) -> str:
    return get_settings().table_name(name)


def _user(plan: str = "pro") -> KeyedUser:
    return make_user(f"{uuid.uuid4().hex[:12]}@example.com", plan)


def _used(user: KeyedUser) -> int:
    return usage.used(f"user#{user.user_id}", usage_day())


def _objects(prefix: str) -> list[str]:
    return list(Blobs().keys(prefix))


def _jobs_of(user: KeyedUser) -> list[Extraction]:
    return list(Extraction.scan(Extraction.owner_id == user.user_id))


def _assert_unavailable(r: httpx.Response) -> dict[str, Any]:
    """A 503 with Retry-After whose body names no part of the store."""
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == RETRY_AFTER
    for word in _LEAKS:
        assert word not in r.text
    body: dict[str, Any] = r.json()
    return body


def _v1_post(stack: Stack, user: KeyedUser, endpoint: str, **params: str) -> httpx.Response:
    return stack.client.post(
        endpoint,
        headers={"X-API-Key": user.key},
        params=params,
        files={"file": ("photo.jpg", stack.photo)},
    )


def _assert_v1_envelope(body: dict[str, Any]) -> None:
    assert body["success"] is False
    assert "try again" in body["error"]
    assert body["requestId"]


# v1 extract: every way a DynamoDB write can fail


@pytest.mark.parametrize("kind", ["throttle", "throughput", "reset", "delay"])
def test_v1_extract_when_the_job_table_fails_is_a_503_refunded_and_stores_nothing(
    stack: Stack, kind: Kind
) -> None:
    user = _user()
    fault = stack.proxy.fail_dynamodb("PutItem", _table("extractions"), kind=kind, delay_s=2.5)

    r = _v1_post(stack, user, "/api/v1/extract")

    _assert_v1_envelope(_assert_unavailable(r))
    assert fault.hits == get_settings().store_max_attempts  # the client retried, then gave up
    stack.proxy.clear()
    assert _used(user) == 0
    assert _jobs_of(user) == []


def test_v1_extract_works_again_once_the_fault_clears(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("extractions"))
    assert _v1_post(stack, user, "/api/v1/extract").status_code == 503
    stack.proxy.clear()

    r = _v1_post(stack, user, "/api/v1/extract")

    assert r.status_code == 200
    assert r.json()["metadata"]["exif"]["Model"] == "Canon EOS R5"
    assert _used(user) == 1
    assert [job.uuid for job in _jobs_of(user)] == [r.json()["uuid"]]


def test_a_throttle_that_passes_within_the_clients_retries_is_not_an_error(stack: Stack) -> None:
    user = _user()
    fault = stack.proxy.fail_dynamodb("PutItem", _table("extractions"), times=1)

    r = _v1_post(stack, user, "/api/v1/extract")

    assert r.status_code == 200
    assert fault.hits == 1
    assert _used(user) == 1


def test_v1_extract_when_the_usage_counter_is_throttled_charges_nothing(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _table("usage"), kind="throughput")

    r = _v1_post(stack, user, "/api/v1/extract")

    _assert_v1_envelope(_assert_unavailable(r))
    stack.proxy.clear()
    assert _used(user) == 0
    assert _jobs_of(user) == []


def test_v1_extract_when_the_key_table_is_throttled_is_a_503_not_a_401(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("GetItem", _table("api-keys"))

    r = _v1_post(stack, user, "/api/v1/extract")

    _assert_v1_envelope(_assert_unavailable(r))


# v1 remove: the clean copy and the record that makes it visible


def test_v1_remove_when_s3_slows_down_is_a_503_with_no_job_and_no_file(stack: Stack) -> None:
    user = _user()
    fault = stack.proxy.fail_s3("PUT", "results/", kind="slowdown")
    before = _objects("results/")

    r = _v1_post(stack, user, "/api/v1/remove")

    _assert_v1_envelope(_assert_unavailable(r))
    assert fault.hits >= 1
    stack.proxy.clear()
    assert _used(user) == 0
    assert _jobs_of(user) == []
    assert _objects("results/") == before


def test_v1_remove_when_the_job_record_fails_removes_the_clean_copy(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("extractions"), kind="reset")
    before = _objects("results/")

    r = _v1_post(stack, user, "/api/v1/remove")

    _assert_v1_envelope(_assert_unavailable(r))
    stack.proxy.clear()
    assert _used(user) == 0
    assert _jobs_of(user) == []
    # the clean copy was written, then removed when its record could not be
    assert any(c.operation == "PUT" and c.key.startswith("results/") for c in stack.proxy.calls)
    assert _objects("results/") == before


def test_v1_download_when_s3_is_unreachable_is_a_503(stack: Stack) -> None:
    user = _user()
    r = _v1_post(stack, user, "/api/v1/remove")
    assert r.status_code == 200
    stack.proxy.fail_s3("GET", "results/", kind="reset")

    download = stack.client.get(f"/download-cleaned/{r.json()['uuid']}")

    _assert_v1_envelope(_assert_unavailable(download))
    stack.proxy.clear()
    again = stack.client.get(f"/download-cleaned/{r.json()['uuid']}")
    assert again.status_code == 200
    assert b"Canon EOS R5" not in again.content


# images: strip-exif and its history row


def _strip(stack: Stack, user: KeyedUser) -> httpx.Response:
    return stack.client.post(
        "/api/images/strip-exif",
        headers={"Authorization": f"Bearer {user.key}"},
        files={"file": ("photo.jpg", stack.photo)},
    )


def _history(user: KeyedUser) -> list[FileRecord]:
    return list(FileRecord.scan(FileRecord.user_id == user.user_id))


@pytest.mark.parametrize("kind", ["throttle", "delay"])
def test_strip_exif_when_the_history_row_fails_keeps_no_file_and_refunds(
    stack: Stack, kind: Kind
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("files"), kind=kind, delay_s=2.5)
    before = _objects("results/")

    r = _strip(stack, user)

    body = _assert_unavailable(r)
    assert body["ok"] is False
    assert "try again" in body["message"]
    stack.proxy.clear()
    assert _used(user) == 0
    assert _history(user) == []
    assert _objects("results/") == before


def test_strip_exif_when_the_file_cannot_be_stored_writes_no_history_row(stack: Stack) -> None:
    user = _user()
    fault = stack.proxy.fail_s3("PUT", "results/", kind="reset")

    r = _strip(stack, user)

    assert _assert_unavailable(r)["ok"] is False
    assert fault.hits >= 1
    stack.proxy.clear()
    assert _used(user) == 0
    assert _history(user) == []
    history = stack.client.get(
        "/api/images/history",
        headers={"Authorization": f"Bearer {user.key}", "Accept": "application/json"},
    )
    assert history.status_code == 200
    assert "photo.jpg" not in history.text


# ImageKit upload


def _imagekit_upload(stack: Stack, user: KeyedUser) -> httpx.Response:
    basic = base64.b64encode(f"{user.key}:".encode()).decode()
    return stack.client.post(
        "/api/v1/files/upload",
        headers={"Authorization": f"Basic {basic}"},
        files={"file": ("photo.jpg", stack.photo)},
        data={"fileName": "photo.jpg"},
    )


def _library_of(user: KeyedUser) -> list[LibraryFile]:
    return list(LibraryFile.scan(LibraryFile.user_id == user.user_id))


def test_imagekit_upload_when_s3_slows_down_is_a_503_in_its_envelope(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_s3("PUT", "library/", kind="slowdown")

    r = _imagekit_upload(stack, user)

    body = _assert_unavailable(r)
    assert set(body) == {"message", "help"}
    assert "Try again" in body["message"]
    stack.proxy.clear()
    assert _used(user) == 0
    assert _library_of(user) == []
    assert _objects(f"library/{user.user_id}/") == []


def test_imagekit_upload_when_the_library_table_is_throttled_records_nothing(
    stack: Stack,
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("library"), kind="throughput")

    r = _imagekit_upload(stack, user)

    assert set(_assert_unavailable(r)) == {"message", "help"}
    stack.proxy.clear()
    assert _used(user) == 0
    assert _library_of(user) == []
    assert _objects(f"library/{user.user_id}/") == []  # the file went with its record


# sign-in


def test_sign_in_when_the_account_tables_are_unreachable_is_a_503_without_a_session(
    stack: Stack,
) -> None:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": email, "password": "correct horse battery"}
    assert stack.client.post("/api/auth/sign-up/email", json=credentials).status_code == 200
    signed_in = TestClient(stack.client.app)
    for table in ("users", "emails", "sessions"):
        stack.proxy.fail_dynamodb(None, _table(table), kind="reset")

    r = signed_in.post("/api/auth/sign-in/email", json=credentials)

    body = _assert_unavailable(r)
    assert body["ok"] is False
    assert "set-cookie" not in r.headers
    stack.proxy.clear()
    assert signed_in.post("/api/auth/sign-in/email", json=credentials).status_code == 200


# the S3-triggered job processor


def _grant(stack: Stack, user: KeyedUser, operation: str) -> dict[str, Any]:
    r = stack.client.post(
        "/api/v1/uploads",
        headers={"X-API-Key": user.key},
        json={"operation": operation, "fileName": "photo.jpg"},
    )
    assert r.status_code == 200, r.text
    grant: dict[str, Any] = r.json()
    upload = grant["upload"]
    sent = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("photo.jpg", stack.photo)}, timeout=30
    )
    assert sent.status_code in (200, 201, 204), sent.text
    return grant


def _s3_event(*keys: str) -> dict[str, Any]:
    """An S3 ObjectCreated event with one record per key."""
    event = load_event("s3_upload.json")
    template = event["Records"][0]
    bucket = get_settings().bucket
    event["Records"] = []
    for key in keys:
        record = json.loads(json.dumps(template))
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = key
        event["Records"].append(record)
    return event


def _process(*keys: str) -> dict[str, int]:
    from exif_service.handlers.s3_processor import handler

    result: dict[str, int] = handler(_s3_event(*keys), LambdaContext())
    return result


def _lookup(stack: Stack, job_uuid: str) -> dict[str, Any]:
    body: dict[str, Any] = stack.client.get(f"/api/v1/extract/{job_uuid}").json()
    return body


@pytest.mark.parametrize(
    ("operation", "failing"),
    [("extract", "record"), ("remove", "record"), ("remove", "result")],
)
def test_upload_job_is_never_completed_without_its_result_and_the_retry_finishes_it(
    stack: Stack, operation: str, failing: str
) -> None:
    user = _user()
    grant = _grant(stack, user, operation)
    key = grant["upload"]["fields"]["key"]
    if failing == "record":  # the conditional write that would complete the job
        fault = stack.proxy.fail_dynamodb("PutItem", _table("extractions"), kind="throttle")
    else:  # the cleaned file the completed job would point at
        fault = stack.proxy.fail_s3("PUT", f"results/{grant['uuid']}/", kind="slowdown")

    with pytest.raises(StoreUnavailable):
        _process(key)

    assert fault.hits > 0
    stack.proxy.clear()
    pending = _lookup(stack, grant["uuid"])
    assert pending["status"] == "processing"
    assert "metadata" not in pending
    assert stack.client.get(f"/download-cleaned/{grant['uuid']}").status_code == 404
    assert _objects(key) == [key]  # the upload waits for the retry
    assert _used(user) == 1  # still charged: the work is not lost, only late

    assert _process(key) == {"processed": 1, "skipped": 0}  # Lambda's retry of the event

    done = _lookup(stack, grant["uuid"])
    assert done["status"] == "completed"
    if operation == "extract":
        assert done["metadata"]["exif"]["Model"] == "Canon EOS R5"
    else:
        cleaned = stack.client.get(f"/download-cleaned/{grant['uuid']}")
        assert cleaned.status_code == 200
        assert b"Canon EOS R5" not in cleaned.content
    assert _objects(key) == []
    assert _used(user) == 1


def test_a_fault_on_one_upload_does_not_hold_back_the_others_in_the_event(stack: Stack) -> None:
    user = _user()
    first, second = _grant(stack, user, "remove"), _grant(stack, user, "remove")
    keys = [grant["upload"]["fields"]["key"] for grant in (first, second)]
    stack.proxy.fail_s3("PUT", f"results/{first['uuid']}/", kind="reset")

    with pytest.raises(StoreUnavailable):
        _process(*keys)  # the invocation fails, so Lambda retries the event

    stack.proxy.clear()
    assert _lookup(stack, first["uuid"])["status"] == "processing"
    assert _lookup(stack, second["uuid"])["status"] == "completed"
    # the retry finishes the first and leaves the second as it is
    assert _process(*keys) == {"processed": 1, "skipped": 1}
    assert _lookup(stack, first["uuid"])["status"] == "completed"


def test_upload_grant_when_the_job_table_is_throttled_is_a_503_and_refunded(
    stack: Stack,
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("extractions"))

    r = stack.client.post(
        "/api/v1/uploads", headers={"X-API-Key": user.key}, json={"operation": "extract"}
    )

    _assert_v1_envelope(_assert_unavailable(r))
    stack.proxy.clear()
    assert _used(user) == 0
    assert _jobs_of(user) == []


# the refund itself meets the fault


def test_refund_outlasts_a_fault_longer_than_the_clients_own_retries(stack: Stack) -> None:
    user = _user()
    attempts = get_settings().store_max_attempts
    stack.proxy.fail_dynamodb("PutItem", _table("extractions"))
    # the charge passes; the refund's first call fails every attempt, its second goes through
    refund = stack.proxy.fail_dynamodb(
        "UpdateItem", _table("usage"), kind="reset", skip=1, times=attempts
    )

    r = _v1_post(stack, user, "/api/v1/extract")

    _assert_v1_envelope(_assert_unavailable(r))
    assert refund.hits == attempts
    stack.proxy.clear()
    assert _used(user) == 0


def test_a_refund_that_cannot_be_made_is_logged_with_what_was_owed(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("PutItem", _table("extractions"))
    stack.proxy.fail_dynamodb("UpdateItem", _table("usage"), kind="throttle", skip=1)

    with caplog.at_level(logging.ERROR, logger="exif_service.services.quota"):
        r = _v1_post(stack, user, "/api/v1/extract")

    _assert_v1_envelope(_assert_unavailable(r))
    lost = [rec for rec in caplog.records if hasattr(rec, "refund_lost")]
    assert [rec.refund_lost for rec in lost] == [  # type: ignore[attr-defined]
        {"subject": f"user#{user.user_id}", "day": usage_day(), "units": 1}
    ]
    stack.proxy.clear()
    assert _used(user) == 1  # what the log line says is owed


# a dead store


def test_a_store_that_refuses_connections_is_a_503_on_every_surface(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user()
    from exif_service.store.bind import bind_models

    with _closed_port() as dead:
        bind_models(_point_at(monkeypatch, dead), force=True)
        try:
            v1 = _v1_post(stack, user, "/api/v1/extract")
            images = _strip(stack, user)
            imagekit = _imagekit_upload(stack, user)
        finally:
            bind_models(_point_at(monkeypatch, stack.proxy.url), force=True)

    _assert_v1_envelope(_assert_unavailable(v1))
    assert _assert_unavailable(images)["ok"] is False
    assert set(_assert_unavailable(imagekit)) == {"message", "help"}


def test_the_web_error_page_for_a_storage_fault_asks_to_come_back(stack: Stack) -> None:
    from exif_service.web.errors import SURFACE

    page = SURFACE.respond(StoreUnavailable("Try again in a few seconds.", 7), "rid-1")

    assert page.status_code == 503
    assert page.headers["Retry-After"] == "7"
    text = bytes(page.body).decode()
    assert "Temporarily unavailable" in text
    assert "Try again in a few seconds." in text


@contextmanager
def _closed_port() -> Iterator[str]:
    """An address where nothing listens: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"
