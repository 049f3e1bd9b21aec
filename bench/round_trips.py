"""DynamoDB and S3 calls per request, counted on botocore's `before-call` event.

The local app runs in this process on moto (the same code paths as a Lambda on AWS: only the
endpoint differs), one user with a Pro key sends the same photo to each endpoint a few times,
and every API call a request makes is counted, ours and pynamodb's alike. A key's first request
in a process reads the key and its owner and writes the key's last use (at most once a minute);
later ones find the owner in the in-process key cache. Both are shown.

    python -m bench.round_trips
"""

from __future__ import annotations

import base64
import io
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image

# The calls of a later request of each kind (a key's first: one more), measured with this
# module before issue 13's changes: key GetItem, user GetItem, usage UpdateItem, the record's
# PutItem, and for a kept file its S3 PutObject.
BEFORE = {
    "POST /api/v1/extract": 4,
    "POST /api/v1/remove": 5,
    "POST /api/images/strip-exif": 5,
    "POST /api/v1/files/upload": 5,
}


@dataclass(frozen=True)
class Count:
    request: str
    first: Counter[str]  # the key's first request in the process (last-used written)
    next: Counter[str]  # a later request within the minute (owner from the key cache)


def photo(size: tuple[int, int] = (640, 480)) -> bytes:
    """A small JPEG with camera tags (the counts do not depend on the file's size)."""
    image = Image.new("RGB", size, (120, 80, 40))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R5"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


@contextmanager
def _local_stack() -> Iterator[tuple[Any, str, str]]:
    """The local all-in-one app on moto and a Pro user's key."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from exif_service.domain.accounts import Plan
    from exif_service.local.app import create_local_app
    from exif_service.local.emulator import prepare_store
    from exif_service.settings import get_settings
    from exif_service.store.accounts import create_api_key, upsert_user
    from exif_service.store.aws import reset_clients
    from exif_service.store.bind import bind_models

    with mock_aws():
        get_settings.cache_clear()
        reset_clients()
        bind_models(get_settings(), force=True)  # connections made after the counting hook
        prepare_store(get_settings())
        account = upsert_user("round-trips@example.com", plan=Plan.PRO)
        key, _ = create_api_key(account.user_id, "round trips")
        with TestClient(create_local_app()) as client:
            yield client, key, account.user_id
    reset_clients()


def requests(key: str) -> dict[str, tuple[str, dict[str, str], dict[str, str]]]:
    """Each kind of request as a user's client sends it: path, headers, form fields."""
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return {
        "POST /api/v1/extract": ("/api/v1/extract", {"X-API-Key": key}, {}),
        "POST /api/v1/remove": ("/api/v1/remove", {"X-API-Key": key}, {}),
        "POST /api/images/strip-exif": (
            "/api/images/strip-exif",
            {"Authorization": f"Bearer {key}"},
            {},
        ),
        "POST /api/v1/files/upload": (
            "/api/v1/files/upload",
            {"Authorization": f"Basic {basic}"},
            {"fileName": "photo.jpg"},
        ),
    }


def _send(
    client: Any, path: str, headers: dict[str, str], data: dict[str, str], body: bytes
) -> None:
    response = client.post(path, headers=headers, files={"file": ("photo.jpg", body)}, data=data)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")


def measure() -> list[Count]:
    """The calls of each kind of request: a key's first in the process, and a later one."""
    from exif_service.engine.exiftool import get_pool
    from exif_service.store.calls import counting_calls

    body = photo()
    counts = []
    with counting_calls(), _local_stack() as (client, key, user_id):
        get_pool().warm()
        for name, (path, headers, data) in requests(key).items():
            with counting_calls() as first:
                _send(client, path, headers, data, body)
            with counting_calls() as later:
                _send(client, path, headers, data, body)
            counts.append(Count(name, first, later))
            _forget_last_use(key, user_id)
    return counts


def _forget_last_use(key: str, user_id: str) -> None:
    """A key this process has not seen, last used over a minute ago: the next kind of request
    starts as the first did."""
    from exif_service.domain.accounts import hash_key
    from exif_service.services.accounts import forget_account
    from exif_service.store.models import ApiKey

    ApiKey(key_hash=hash_key(key)).update(actions=[ApiKey.last_used_at.remove()])
    forget_account(user_id)


def show(counts: list[Count]) -> None:
    print(f"  {'request':<30} {'before':>6} {'first':>6} {'next':>6}  calls of a later request")
    for count in counts:
        calls = ", ".join(f"{name} {n}" for name, n in sorted(count.next.items()))
        print(
            f"  {count.request:<30} {BEFORE.get(count.request, 0):>6} "
            f"{sum(count.first.values()):>6} {sum(count.next.values()):>6}  {calls}"
        )


def main() -> int:
    show(measure())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
