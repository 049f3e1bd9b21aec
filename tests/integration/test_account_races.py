"""Check-then-write races of the accounts, keys, library, billing and retention, run for real.

Each test sends its requests from threads released together by a barrier, over HTTP (the app
under moto, as the local server runs it), with moto made to serialise item writes the way
DynamoDB does (`make_item_writes_atomic`): what is left is exactly the guarantee our code asks
DynamoDB for (conditions, transactions), so a check-then-write in our code shows up as a race.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import KeyedUser, make_user
from tests.integration.test_imagekit_metadata import basic
from tests.support.faults import slow_dynamodb
from tests.support.media import make_jpeg
from tests.support.sessions import PASSWORD, signed_in

from exif_service.domain.accounts import Account
from exif_service.services.history import keep_result
from exif_service.services.retention import run_purge
from exif_service.settings import Settings, get_settings
from exif_service.store.accounts import get_user
from exif_service.store.blobs import Blobs
from exif_service.store.models import ApiKey, EmailOwner, LibraryFile, User

SIGN_UP = "/api/auth/sign-up/email"
TAKEN = {"ok": False, "message": "An account with this email already exists. Sign in instead."}
DAY = timedelta(hours=24)

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _item_level_atomic_dynamodb() -> None:
    """moto made to serialise item writes as DynamoDB does (the local server runs it so too)."""
    from exif_service.local.emulator import make_item_writes_atomic

    make_item_writes_atomic()


def together(count: int, call: Callable[[int], T]) -> list[T]:
    """`call(i)` for i in range(count), all released at the same moment from their own threads."""
    start = threading.Barrier(count)

    def run(i: int) -> T:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_five_simultaneous_sign_ups_with_one_email_make_one_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every write reaches the store a second late: all five checks happen before any write
    with slow_dynamodb(monkeypatch, {"PutItem", "TransactWriteItems"}, delay_s=1.0):
        _one_account_from_five_sign_ups("race.one@example.com")


def _one_account_from_five_sign_ups(address: str) -> None:
    from exif_service.local.app import create_local_app

    app = create_local_app()
    # one address written several ways: the account is the normalised one
    spellings = [address, address.title(), f" {address}", address.upper()]

    def sign_up(i: int) -> Response:
        body = {"email": spellings[i % len(spellings)], "password": PASSWORD}
        return TestClient(app).post(SIGN_UP, json=body)

    responses = together(5, sign_up)

    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400]
    losers = [r for r in responses if r.status_code == 400]
    assert all(r.json() == TAKEN for r in losers)
    assert all("set-cookie" not in r.headers for r in losers)
    winner = next(r for r in responses if r.status_code == 200).json()["user"]["id"]

    users = [u for u in User.scan() if u.email == address]
    assert [u.user_id for u in users] == [winner]
    assert EmailOwner.get(address).user_id == winner

    # the one account is the one sign-in reaches, and a later sign-up gets the same answer
    client = TestClient(app)
    r = client.post("/api/auth/sign-in/email", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["user"]["id"] == winner
    again = client.post(SIGN_UP, json={"email": address.upper(), "password": PASSWORD})
    assert (again.status_code, again.json()) == (400, TAKEN)


def test_concurrent_key_creations_never_exceed_the_limit(client: TestClient) -> None:
    pro = signed_in(client.app, "many-keys@example.com", plan="pro")
    cookie = {"Cookie": f"exs_session={pro.token}"}

    def create(i: int) -> Response:
        return TestClient(client.app).post("/api/keys", json={"name": f"k{i}"}, headers=cookie)

    responses = together(10, create)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 5 + [400] * 5
    for r in responses:
        if r.status_code == 400:
            assert "at most 5 API keys" in r.json()["message"]
    stored = [k for k in ApiKey.scan() if k.user_id == pro.user_id]
    assert len(stored) == 5
    assert int(User.get(pro.user_id).api_key_count) == 5
    assert len(pro.client.get("/api/keys").json()["keys"]) == 5


def test_uploads_racing_on_one_new_name_leave_one_file_and_one_object(
    client: TestClient, pro_user: KeyedUser, tmp_path: Path
) -> None:
    pictures = [make_jpeg(tmp_path / f"p{i}.jpg", seed=40 + 30 * i) for i in range(4)]

    def upload(i: int) -> Response:
        return TestClient(client.app).post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": ("same.jpg", pictures[i].read_bytes())},
            data={"fileName": "same.jpg", "useUniqueFileName": "false", "folder": "/race"},
        )

    responses = together(4, upload)

    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    ids = {r.json()["fileId"] for r in responses}
    assert len(ids) == 1
    records = [f for f in LibraryFile.scan() if f.user_id == pro_user.user_id]
    assert [(f.file_path, f.file_id) for f in records] == [("/race/same.jpg", *ids)]
    objects = list(Blobs().keys(f"library/{pro_user.user_id}/"))
    assert objects == [records[0].s3_key]
    # the file served is one of the uploads, whole
    served = client.get(f"/v1/files/{records[0].file_id}/content", headers=basic(pro_user.key))
    assert served.status_code == 200
    assert served.content in {p.read_bytes() for p in pictures}


def test_a_delete_racing_a_replacement_leaves_no_object_without_its_record(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from exif_service.local.app import create_local_app

    first, second = (make_jpeg(tmp_path / f"v{i}.jpg", seed=60 + 40 * i) for i in range(2))
    # the delete's write reaches the store two seconds late: the replacement lands before it
    with slow_dynamodb(monkeypatch, {"DeleteItem"}, delay_s=2.0):
        owner = make_user("swapper@example.com")
        app = create_local_app()

        def upload(picture: Path) -> Response:
            return TestClient(app).post(
                "/api/v1/files/upload",
                headers=basic(owner.key),
                files={"file": ("swap.jpg", picture.read_bytes())},
                data={"fileName": "swap.jpg", "useUniqueFileName": "false"},
            )

        file_id = upload(first).json()["fileId"]
        with ThreadPoolExecutor(max_workers=1) as pool:
            deleting = pool.submit(
                TestClient(app).delete, f"/v1/files/{file_id}", headers=basic(owner.key)
            )
            replaced = upload(second)
            deleted = deleting.result()

        assert replaced.status_code == 200, replaced.text
        assert deleted.status_code in (200, 204), deleted.text
        records = [f for f in LibraryFile.scan() if f.user_id == owner.user_id]
        objects = sorted(Blobs().keys(f"library/{owner.user_id}/"))
        assert objects == sorted(f.s3_key for f in records)  # no object without its record


@dataclass
class IdempotentStripe:
    """A local stand-in for Stripe's customer and checkout endpoints that honours
    `Idempotency-Key` as Stripe does: the same key gets the first answer again."""

    base: str = ""
    customers: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkout_customers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def customer(self, key: str | None) -> dict[str, Any]:
        with self.lock:
            if key and key in self.answers:
                return self.answers[key]
            made = {"id": f"cus_{len(self.customers) + 1}", "object": "customer"}
            self.customers.append(made["id"])
            if key:
                self.answers[key] = made
            return made


@pytest.fixture
def stripe_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[IdempotentStripe]:
    from urllib.parse import parse_qs

    fake = IdempotentStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path == "/v1/customers":
                body = fake.customer(self.headers.get("Idempotency-Key"))
            elif self.path == "/v1/checkout/sessions":
                fake.checkout_customers.append(form["customer"][0])
                body = {"id": "cs_1", "object": "checkout.session", "url": "https://pay.test/cs_1"}
            else:
                body = {"error": {"message": "unknown path", "type": "invalid_request"}}
            data = json.dumps(body).encode()
            self.send_response(200 if "id" in body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_PRICE_ID", "price_pro")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_API_BASE", fake.base)
    for name in ("SECRET_PARAMETER", "WEBHOOK_SECRET_PARAMETER"):
        monkeypatch.delenv(f"EXIF_SERVICE_STRIPE_{name}", raising=False)
    get_settings.cache_clear()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()
    get_settings.cache_clear()


def test_checkouts_racing_make_one_stripe_customer(
    client: TestClient, stripe_api: IdempotentStripe
) -> None:
    free = signed_in(client.app, "two-tabs@example.com")
    cookie = {"Cookie": f"exs_session={free.token}"}

    def checkout(_: int) -> Response:
        return TestClient(client.app).post("/api/billing/checkout", headers=cookie)

    responses = together(4, checkout)

    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len(stripe_api.customers) == 1
    stored = User.get(free.user_id).stripe_customer_id
    assert stored == stripe_api.customers[0]
    assert stripe_api.checkout_customers == [stored] * 4


def _admin_app(aws: Settings) -> tuple[FastAPI, KeyedUser, KeyedUser]:
    from exif_service.local.app import create_local_app

    return create_local_app(), make_user("purger@example.com", admin=True), make_user("own@x.io")


def _account(user: KeyedUser) -> Account:
    found = get_user(user.user_id)
    assert found is not None
    return found


def test_downloads_racing_the_purge_get_the_whole_file_or_a_clean_404(
    aws: Settings, tmp_path: Path
) -> None:
    app, admin, owner = _admin_app(aws)
    now = datetime.now(UTC)
    content = b"\xff\xd8" + bytes(range(256)) * 4096  # 1 MB: several stream chunks
    source = tmp_path / "kept.jpg"
    source.write_bytes(content)
    items = [
        keep_result(
            _account(owner),
            "strip-exif",
            f"f{i}.jpg",
            source,
            "image/jpeg",
            Blobs(),
            now=now - DAY * 3,
        )
        for i in range(3)
    ]
    run_purge(now, grace=DAY)  # soft-deleted: the admin may still download them

    def act(i: int) -> Response | None:
        if i == 0:
            run_purge(now + DAY * 2, grace=DAY)  # and now they go for good
            return None
        item = items[i % len(items)]
        return TestClient(app).get(
            f"/api/admin/files/{item.file_id}/download",
            headers={"Authorization": f"Bearer {admin.key}"},
        )

    responses = [r for r in together(13, act) if r is not None]

    for r in responses:
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            assert r.content == content  # never half a file
        else:
            assert r.json()["ok"] is False
    # once the purge is over every download is a clean 404, for the admin and the owner alike
    after = TestClient(app)
    for item in items:
        r = after.get(
            f"/api/admin/files/{item.file_id}/download",
            headers={"Authorization": f"Bearer {admin.key}"},
        )
        assert (r.status_code, r.json()["ok"]) == (404, False)
        mine = after.get(
            f"/api/images/history/{item.file_id}/download",
            headers={"Authorization": f"Bearer {owner.key}"},
        )
        assert mine.status_code in (404, 410)
    assert list(Blobs().keys("results/")) == []
