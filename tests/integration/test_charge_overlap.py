"""The quota charge runs beside the work it pays for, and still decides the answer.

The counter's conditional update is sent as the request starts; the upload handling, the
pre-scan and ExifTool run meanwhile, and nothing is stored or answered before the charge is
known. These tests run the local app against moto's server behind the fault proxy
(tests/support/faults.py), so the charge can be refused, throttled, reset or held (`late`, a
slow link) while the real ExifTool works. Every case checks what the caller hears (status,
envelope, rate-limit headers), the day's count, and that nothing was left behind: no job, no
history row, no library record, no object in the bucket.

The overlap itself is shown by order, not time: an engine that notes the day's count each
time it runs sees the count before the held charge lands, and runs at all for a caller the
charge then refuses.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user
from tests.support.faults import FaultProxy, Kind, proxied_store
from tests.support.media import exiftool, make_photo

from exif_service.domain.plans import usage_day
from exif_service.engine.exiftool import ExifToolPool, ExifToolResult
from exif_service.services.runtime import engine_pool
from exif_service.settings import get_settings
from exif_service.store import usage
from exif_service.store.blobs import Blobs
from exif_service.store.models import Extraction, FileRecord, LibraryFile

LIMIT = 3  # the Pro plan's day, made short so that a test can use it up
HELD_S = 3.0  # how long a `late` charge is held on its way: far longer than reading a small photo
_SETTINGS = {
    "pro_daily_limit": str(LIMIT),
    "store_read_timeout_s": "10",  # longer than a held call: `late` is slow, not failed
    "store_retry_after_s": "7",
    "run_schedules": "false",
}
NOT_MEDIA = b"plain text, not an image"


class WatchedPool(ExifToolPool):
    """The real ExifTool pool, noting the watched subject's day count each time it has run."""

    def __init__(self) -> None:
        settings = get_settings()
        self.subject: str | None = None
        self.counts: list[int] = []
        super().__init__(settings.perl_path, settings.exiftool_path, 1, settings.exiftool_timeout_s)
        self.start(settings.exiftool_min_version)

    def run(self, args: Sequence[str], timeout: float | None = None) -> ExifToolResult:
        result = super().run(args, timeout)
        if self.subject is not None:
            self.counts.append(usage.used(self.subject, usage_day()))
        return result


@dataclass
class Stack:
    proxy: FaultProxy
    client: TestClient
    pool: WatchedPool
    photo: bytes
    extra: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from exif_service.local.app import create_local_app

    with pytest.MonkeyPatch.context() as monkeypatch:
        with proxied_store(monkeypatch, **_SETTINGS) as proxy:
            photo = make_photo(tmp_path_factory.mktemp("overlap") / "photo.jpg")
            app = create_local_app()
            pool = WatchedPool()
            app.dependency_overrides[engine_pool] = lambda: pool
            try:
                yield Stack(proxy, TestClient(app), pool, photo.read_bytes())
            finally:
                pool.close()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _through_the_proxy(
    stack: Stack, _isolated_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test starts with no faults, an unwatched engine and settings aimed at the proxy."""
    from exif_service.store.aws import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.proxy.url)
    for name, value in _SETTINGS.items():
        monkeypatch.setenv(f"EXIF_SERVICE_{name.upper()}", value)
    get_settings.cache_clear()
    reset_clients()
    stack.proxy.clear()
    stack.pool.subject = None
    stack.pool.counts = []
    yield
    stack.proxy.clear()
    stack.pool.subject = None


# the caller, and what a request can leave behind


def _user(used: int = 0) -> KeyedUser:
    user = make_user(f"{uuid.uuid4().hex[:12]}@example.com", "pro")
    if used:
        assert usage.try_consume(_subject(user), usage_day(), LIMIT, used) == used
    return user


def _subject(user: KeyedUser) -> str:
    return f"user#{user.user_id}"


def _used(user: KeyedUser) -> int:
    return usage.used(_subject(user), usage_day())


def _objects() -> set[str]:
    return set(Blobs().keys(""))


def _left_by(user: KeyedUser) -> list[Any]:
    """The records that a request of `user` stored (jobs, history, library files)."""
    return [
        *Extraction.scan(Extraction.owner_id == user.user_id),
        *FileRecord.scan(FileRecord.user_id == user.user_id),
        *LibraryFile.scan(LibraryFile.user_id == user.user_id),
    ]


def _usage_table() -> str:
    return get_settings().table_name("usage")


def _charges(stack: Stack) -> list[str]:
    """The usage counter's updates that reached the proxy, in order (charges and refunds)."""
    table = _usage_table()
    return [
        c.operation for c in stack.proxy.calls if table in c.tables and c.operation == "UpdateItem"
    ]


# the charged endpoints, each posting one file as its callers do

Post = Callable[[TestClient, KeyedUser, str, bytes], httpx.Response]


def _v1(endpoint: str) -> Post:
    def post(client: TestClient, user: KeyedUser, name: str, data: bytes) -> httpx.Response:
        return client.post(endpoint, headers={"X-API-Key": user.key}, files={"file": (name, data)})

    return post


def _images(endpoint: str) -> Post:
    def post(client: TestClient, user: KeyedUser, name: str, data: bytes) -> httpx.Response:
        return client.post(
            endpoint, headers={"Authorization": f"Bearer {user.key}"}, files={"file": (name, data)}
        )

    return post


def _imagekit(client: TestClient, user: KeyedUser, name: str, data: bytes) -> httpx.Response:
    basic = base64.b64encode(f"{user.key}:".encode()).decode()
    return client.post(
        "/api/v1/files/upload",
        headers={"Authorization": f"Basic {basic}"},
        files={"file": (name, data)},
        data={"fileName": name},
    )


ENDPOINTS: dict[str, Post] = {
    "v1 extract": _v1("/api/v1/extract"),
    "v1 remove": _v1("/api/v1/remove"),
    "v1 privacy": _v1("/api/v1/privacy"),
    "strip-exif": _images("/api/images/strip-exif"),
    "imagekit upload": _imagekit,
}
STORING = ("v1 extract", "v1 remove", "strip-exif", "imagekit upload")


def _remaining(r: httpx.Response) -> int:
    assert r.headers["X-RateLimit-Limit"] == str(LIMIT)
    return int(r.headers["X-RateLimit-Remaining"])


# over the day's allowance: the 429 wins, whatever the work did


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_caller_over_quota_gets_429_and_nothing_is_stored(stack: Stack, endpoint: str) -> None:
    user = _user(used=LIMIT)
    before = _objects()

    r = ENDPOINTS[endpoint](stack.client, user, "photo.jpg", stack.photo)

    assert r.status_code == 429, r.text
    assert _remaining(r) == 0
    assert "Retry-After" in r.headers
    assert _used(user) == LIMIT
    assert _left_by(user) == []
    assert _objects() == before


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("name", "data"),
    [("notes.jpg", NOT_MEDIA), ("empty.jpg", b"")],
    ids=["not-media", "empty"],
)
def test_over_quota_with_a_bad_file_the_429_wins_as_when_the_charge_ran_first(
    stack: Stack, endpoint: str, name: str, data: bytes
) -> None:
    user = _user(used=LIMIT)

    r = ENDPOINTS[endpoint](stack.client, user, name, data)

    assert r.status_code == 429, r.text
    assert _remaining(r) == 0
    assert _used(user) == LIMIT


@pytest.mark.parametrize("endpoint", STORING)
def test_over_quota_while_the_charge_is_slow_the_work_runs_but_nothing_is_kept(
    stack: Stack, endpoint: str
) -> None:
    user = _user(used=LIMIT)
    stack.pool.subject = _subject(user)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)
    before = _objects()

    r = ENDPOINTS[endpoint](stack.client, user, "photo.jpg", stack.photo)

    assert r.status_code == 429, r.text
    assert stack.pool.counts, "the engine waited for the charge instead of running beside it"
    assert _remaining(r) == 0
    stack.proxy.clear()
    assert _used(user) == LIMIT
    assert _left_by(user) == []
    assert _objects() == before


# within the allowance: the work runs before the charge lands, and the count is right


@pytest.mark.parametrize("endpoint", STORING)
def test_the_engine_runs_while_the_charge_is_on_its_way(stack: Stack, endpoint: str) -> None:
    user = _user()
    stack.pool.subject = _subject(user)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)

    r = ENDPOINTS[endpoint](stack.client, user, "photo.jpg", stack.photo)

    assert r.status_code == 200, r.text
    # the engine's first run saw the day's count before the held charge reached it
    assert stack.pool.counts[0] == 0
    assert _remaining(r) == LIMIT - 1
    stack.proxy.clear()
    assert _used(user) == 1
    assert len(_left_by(user)) == 1


def test_a_kept_result_reads_back_clean_after_a_slow_charge(stack: Stack, tmp_path: Any) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)

    r = ENDPOINTS["strip-exif"](stack.client, user, "photo.jpg", stack.photo)

    assert r.status_code == 200, r.text
    out = tmp_path / "clean.jpg"
    out.write_bytes(r.content)
    tags = exiftool("-a", "-G1", "-s", str(out))
    assert "Canon" not in tags and "GPSLatitude" not in tags
    assert "ImageWidth" in tags


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_work_that_fails_before_a_slow_charge_lands_gives_the_unit_back(
    stack: Stack, endpoint: str
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)
    stack.proxy.reset_log()

    r = ENDPOINTS[endpoint](stack.client, user, "notes.jpg", NOT_MEDIA)

    assert r.status_code == 415, r.text
    assert _remaining(r) == LIMIT  # the headers count the refund too
    assert _charges(stack) == ["UpdateItem", "UpdateItem"]  # the charge, then the give-back
    stack.proxy.clear()
    assert _used(user) == 0
    assert _left_by(user) == []


# a store fault on the charge: 503, nothing charged, nothing kept


@pytest.mark.parametrize("kind", ["throttle", "reset"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_store_fault_on_the_charge_is_a_503_with_nothing_left(
    stack: Stack, endpoint: str, kind: Kind
) -> None:
    user = _user()
    stack.pool.subject = _subject(user)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind=kind)
    before = _objects()

    r = ENDPOINTS[endpoint](stack.client, user, "photo.jpg", stack.photo)

    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "7"
    assert "Throttling" not in r.text and "botocore" not in r.text
    assert "X-RateLimit-Remaining" not in r.headers  # the store never said what was left
    stack.proxy.clear()
    assert _used(user) == 0
    assert _left_by(user) == []
    assert _objects() == before


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_store_fault_on_the_charge_is_a_503_even_when_the_file_is_bad(
    stack: Stack, endpoint: str
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="throttle")

    r = ENDPOINTS[endpoint](stack.client, user, "notes.jpg", NOT_MEDIA)

    assert r.status_code == 503, r.text
    stack.proxy.clear()
    assert _used(user) == 0


# batches: charged whole, up front


def _batch(stack: Stack, user: KeyedUser, count: int) -> httpx.Response:
    files = [("file", (f"{n}.jpg", stack.photo)) for n in range(count)]
    return stack.client.post("/api/v1/extract/batch", headers={"X-API-Key": user.key}, files=files)


def _bulk(stack: Stack, user: KeyedUser, count: int) -> httpx.Response:
    files = [("files", (f"{n}.jpg", stack.photo)) for n in range(count)]
    return stack.client.post(
        "/api/images/strip-exif-bulk", headers={"Authorization": f"Bearer {user.key}"}, files=files
    )


@pytest.mark.parametrize("send", [_batch, _bulk], ids=["v1 batch", "strip-exif-bulk"])
def test_a_batch_over_quota_is_refused_whole_while_the_charge_is_slow(
    stack: Stack, send: Callable[[Stack, KeyedUser, int], httpx.Response]
) -> None:
    user = _user(used=LIMIT - 1)
    stack.pool.subject = _subject(user)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)
    before = _objects()

    r = send(stack, user, 2)

    assert r.status_code == 429, r.text
    assert stack.pool.counts  # the first input ran beside the charge
    stack.proxy.clear()
    assert _used(user) == LIMIT - 1
    assert _left_by(user) == []
    assert _objects() == before


@pytest.mark.parametrize("send", [_batch, _bulk], ids=["v1 batch", "strip-exif-bulk"])
def test_a_store_fault_on_a_batch_charge_is_a_503_with_nothing_left(
    stack: Stack, send: Callable[[Stack, KeyedUser, int], httpx.Response]
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="throttle")
    before = _objects()

    r = send(stack, user, 2)

    assert r.status_code == 503, r.text
    stack.proxy.clear()
    assert _used(user) == 0
    assert _left_by(user) == []
    assert _objects() == before


@pytest.mark.parametrize("send", [_batch, _bulk], ids=["v1 batch", "strip-exif-bulk"])
def test_a_batch_within_quota_is_charged_once_beside_its_work(
    stack: Stack, send: Callable[[Stack, KeyedUser, int], httpx.Response]
) -> None:
    user = _user()
    stack.pool.subject = _subject(user)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)

    r = send(stack, user, 2)

    assert r.status_code == 200, r.text
    assert stack.pool.counts[0] == 0
    assert _remaining(r) == LIMIT - 2
    stack.proxy.clear()
    assert _used(user) == 2


# a presigned upload: charged when granted


def _grant(stack: Stack, user: KeyedUser) -> httpx.Response:
    return stack.client.post(
        "/api/v1/uploads",
        headers={"X-API-Key": user.key},
        json={"operation": "remove", "fileName": "big.jpg"},
    )


def test_an_upload_grant_over_quota_is_a_429_with_no_job(stack: Stack) -> None:
    user = _user(used=LIMIT)
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)

    r = _grant(stack, user)

    assert r.status_code == 429, r.text
    assert _remaining(r) == 0
    stack.proxy.clear()
    assert _used(user) == LIMIT
    assert _left_by(user) == []


@pytest.mark.parametrize("kind", ["throttle", "reset"])
def test_an_upload_grant_with_a_store_fault_on_the_charge_is_a_503_with_no_job(
    stack: Stack, kind: Kind
) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind=kind)

    r = _grant(stack, user)

    assert r.status_code == 503, r.text
    stack.proxy.clear()
    assert _used(user) == 0
    assert _left_by(user) == []


def test_an_upload_grant_within_quota_records_its_job_once_charged(stack: Stack) -> None:
    user = _user()
    stack.proxy.fail_dynamodb("UpdateItem", _usage_table(), kind="late", delay_s=HELD_S)

    r = _grant(stack, user)

    assert r.status_code == 200, r.text
    assert _remaining(r) == LIMIT - 1
    stack.proxy.clear()
    assert _used(user) == 1
    assert [job.status for job in _left_by(user)] == ["processing"]
