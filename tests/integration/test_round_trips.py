"""DynamoDB and S3 calls per request: upper bounds, so a change that adds a round trip shows.

Counted on botocore's `before-call` event (store/calls.py), which every client fires, pynamodb's
included; moto answers the calls, but the count is the one a deployment makes on AWS.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from tests.conftest import KeyedUser, make_user
from tests.support.media import exiftool, make_photo

from exif_service.domain.accounts import hash_key
from exif_service.services.accounts import forget_account
from exif_service.settings import get_settings
from exif_service.store.aws import reset_clients
from exif_service.store.bind import bind_models
from exif_service.store.calls import counting_calls
from exif_service.store.models import ApiKey

# (path, auth header, form fields) of each kind of request, and the most calls of one served
# from the warm key cache: the usage counter, the record, and S3 for a kept file. A key's first
# request in a process also reads the key and its owner and writes the key's last use.
REQUESTS = {
    "v1 extract": ("/api/v1/extract", "X-API-Key", {}),
    "v1 remove": ("/api/v1/remove", "X-API-Key", {}),
    "images strip-exif": ("/api/images/strip-exif", "Bearer", {}),
    "imagekit upload": ("/api/v1/files/upload", "Basic", {"fileName": "photo.jpg"}),
}
LATER = {"v1 extract": 2, "v1 remove": 3, "images strip-exif": 3, "imagekit upload": 3}
COLD = 3  # key GetItem, last-used UpdateItem, owner GetItem


@pytest.fixture(scope="module")
def counted() -> Iterator[tuple[TestClient, KeyedUser]]:
    """The local app on moto, its clients all made after the counting hook is in place."""
    from exif_service.local.app import create_local_app
    from exif_service.local.emulator import prepare_store

    with counting_calls(), mock_aws():
        get_settings.cache_clear()
        reset_clients()
        # new pynamodb connections too: ones made by earlier tests have no counting hook
        bind_models(get_settings(), force=True)
        prepare_store(get_settings())
        yield TestClient(create_local_app()), make_user("round-trips@example.com", "pro")
    reset_clients()


@pytest.fixture
def photo(tmp_path: Path) -> bytes:
    return make_photo(tmp_path / "photo.jpg").read_bytes()


def _send(client: TestClient, user: KeyedUser, kind: str, body: bytes) -> bytes:
    path, scheme, fields = REQUESTS[kind]
    if scheme == "X-API-Key":
        headers = {"X-API-Key": user.key}
    elif scheme == "Bearer":
        headers = {"Authorization": f"Bearer {user.key}"}
    else:
        headers = {"Authorization": "Basic " + base64.b64encode(f"{user.key}:".encode()).decode()}
    r = client.post(path, headers=headers, files={"file": ("photo.jpg", body)}, data=fields)
    assert r.status_code == 200, r.text
    return r.content


def _last_used(user: KeyedUser) -> datetime | None:
    value: datetime | None = ApiKey.get(hash_key(user.key)).last_used_at
    return value


def _forget_last_use(user: KeyedUser) -> None:
    """A key this process has not seen, last used over a minute ago."""
    ApiKey(key_hash=hash_key(user.key)).update(actions=[ApiKey.last_used_at.remove()])
    forget_account(user.user_id)


def _count(client: TestClient, user: KeyedUser, kind: str, body: bytes) -> Counter[str]:
    with counting_calls() as calls:
        _send(client, user, kind, body)
    return calls


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_request_makes_at_most_its_counted_store_calls(
    counted: tuple[TestClient, KeyedUser], photo: bytes, kind: str
) -> None:
    client, user = counted
    _forget_last_use(user)
    first = _count(client, user, kind, photo)
    later = _count(client, user, kind, photo)
    assert sum(later.values()) <= LATER[kind], later
    assert sum(first.values()) <= LATER[kind] + COLD, first
    # the first request wrote the key's last use; the next one, within the minute, did not
    assert first["dynamodb.UpdateItem"] == later["dynamodb.UpdateItem"] + 1, (first, later)
    # the owner comes from the key cache, and nothing is read back after being written
    assert later["dynamodb.GetItem"] == 0 and later["dynamodb.Query"] == 0, later
    assert later["s3.HeadObject"] == 0 and later["s3.GetObject"] == 0, later


def test_last_used_is_written_at_most_once_a_minute(
    counted: tuple[TestClient, KeyedUser], photo: bytes
) -> None:
    client, user = counted
    _forget_last_use(user)
    before = datetime.now(UTC)
    _send(client, user, "v1 extract", photo)
    stamped = _last_used(user)
    assert stamped is not None and stamped >= before - timedelta(seconds=1)
    for _ in range(3):
        _send(client, user, "v1 extract", photo)
    assert _last_used(user) == stamped
    # a minute later the next request records its time again
    old = stamped - timedelta(minutes=2)
    ApiKey(key_hash=hash_key(user.key)).update(actions=[ApiKey.last_used_at.set(old)])
    forget_account(user.user_id)
    _send(client, user, "v1 extract", photo)
    renewed = _last_used(user)
    assert renewed is not None and renewed > old + timedelta(minutes=1)


def test_counted_extract_still_reads_the_camera_tags(
    counted: tuple[TestClient, KeyedUser], photo: bytes, tmp_path: Path
) -> None:
    # the counts above are of requests that did their work: the answer holds what ExifTool reads
    client, user = counted
    answer = json.loads(_send(client, user, "v1 extract", photo))
    sent = tmp_path / "sent.jpg"
    sent.write_bytes(photo)
    own = json.loads(exiftool("-j", "-G", "-Model", "-GPSLatitude", str(sent)))[0]
    text = json.dumps(answer["metadata"])
    assert own["EXIF:Model"] in text
    assert json.dumps(own["Composite:GPSLatitude"]) in text
