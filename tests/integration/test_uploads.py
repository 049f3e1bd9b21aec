"""Large files through S3: presigned POST, the S3 event processor, duplicate and corrupt uploads,
signed callbacks. Driven with the events in tests/events/ under moto and the real ExifTool."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import LambdaContext, invoke

from exif_service.domain.plans import usage_day
from exif_service.services.callbacks import SIGNATURE_HEADER, verify
from exif_service.settings import Settings, get_settings
from exif_service.store import usage
from exif_service.store.aws import client as aws_client


def _grant(client: TestClient, user: KeyedUser, **fields: str) -> tuple[dict[str, Any], int]:
    r = client.post("/api/v1/uploads", headers={"X-API-Key": user.key}, json=fields)
    body: dict[str, Any] = r.json()
    return body, r.status_code


def _upload(grant: dict[str, Any], data: bytes, name: str = "photo.jpg") -> str:
    """What a client does with the grant: a multipart POST straight to S3."""
    upload = grant["upload"]
    r = requests.post(
        upload["url"], data=upload["fields"], files={"file": (name, data)}, timeout=30
    )
    assert r.status_code in (200, 201, 204), r.text
    key: str = upload["fields"]["key"]
    return key


def _s3_event(settings: Settings, key: str) -> dict[str, Any]:
    event = load_event("s3_upload.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = settings.bucket
    record["bucket"]["arn"] = f"arn:aws:s3:::{settings.bucket}"
    record["object"]["key"] = key.replace(" ", "+")
    return event


def _process(settings: Settings, key: str) -> dict[str, int]:
    from exif_service.handlers.s3_processor import handler

    result: dict[str, int] = handler(_s3_event(settings, key), LambdaContext())
    return result


def _object_exists(settings: Settings, key: str) -> bool:
    answer = aws_client("s3").list_objects_v2(Bucket=settings.bucket, Prefix=key)
    return int(answer.get("KeyCount", 0)) > 0


def test_upload_grant_is_a_presigned_post_capped_at_the_setting_and_job_shows_processing(
    client: TestClient, pro_user: KeyedUser, aws: Settings
) -> None:
    grant, status = _grant(client, pro_user, operation="extract", fileName="big.tiff")
    assert status == 200
    assert grant["success"] is True
    assert grant["status"] == "processing"
    assert grant["operation"] == "extract"
    fields = grant["upload"]["fields"]
    assert fields["key"].startswith(f"uploads/{grant['uuid']}/")
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 500 * 1024 * 1024] in policy["conditions"]
    assert grant["upload"]["maxBytes"] == 500 * 1024 * 1024

    lookup = client.get(f"/api/v1/extract/{grant['uuid']}").json()
    assert lookup["status"] == "processing"
    assert lookup["success"] is True
    assert "metadata" not in lookup


def test_upload_grant_needs_a_valid_key_in_the_v1_envelope(client: TestClient) -> None:
    r = client.post("/api/v1/uploads", json={"operation": "extract"})
    assert r.status_code == 401
    assert r.json() == {"success": False, "error": "Invalid API key"}


def test_upload_grant_refuses_an_unknown_operation(client: TestClient, pro_user: KeyedUser) -> None:
    body, status = _grant(client, pro_user, operation="transcode")
    assert status == 400
    assert body["success"] is False


def test_extract_upload_completes_through_the_s3_event(
    client: TestClient, pro_user: KeyedUser, aws: Settings, photo: Path
) -> None:
    grant, _ = _grant(client, pro_user, operation="extract", fileName="holiday.jpg")
    key = _upload(grant, photo.read_bytes())

    assert _process(aws, key) == {"processed": 1, "skipped": 0}

    lookup = client.get(f"/api/v1/extract/{grant['uuid']}").json()
    assert lookup["status"] == "completed"
    assert lookup["fileName"] == "holiday.jpg"
    assert lookup["metadata"]["exif"]["Model"] == "Canon EOS R5"
    assert not _object_exists(aws, key)  # the upload is not kept once processed


def test_remove_upload_gives_a_download_url_of_the_clean_file(
    client: TestClient, pro_user: KeyedUser, aws: Settings, photo: Path
) -> None:
    grant, _ = _grant(client, pro_user, operation="remove", fileName="holiday.jpg")
    key = _upload(grant, photo.read_bytes())
    _process(aws, key)

    lookup = client.get(f"/api/v1/extract/{grant['uuid']}").json()
    assert lookup["status"] == "completed"
    assert lookup["downloadUrl"].endswith(f"/download-cleaned/{grant['uuid']}")
    cleaned = client.get(f"/download-cleaned/{grant['uuid']}")
    assert cleaned.status_code == 200
    assert b"Canon EOS R5" not in cleaned.content
    assert cleaned.content[:2] == b"\xff\xd8"
    assert lookup["verified"] is True


def test_remove_upload_that_fails_verification_fails_the_job_and_gives_the_image_back(
    client: TestClient, pro_user: KeyedUser, aws: Settings, tmp_path: Path
) -> None:
    from tests.integration.test_verification import make_webp_with_riff_info

    dirty = make_webp_with_riff_info(tmp_path / "portrait.webp")
    grant, _ = _grant(client, pro_user, operation="remove", fileName="portrait.webp", keep="none")
    key = _upload(grant, dirty.read_bytes(), name="portrait.webp")

    _process(aws, key)

    lookup = client.get(f"/api/v1/extract/{grant['uuid']}").json()
    assert lookup["status"] == "failed"
    assert "Artist" in lookup["error"]
    assert "downloadUrl" not in lookup and "verified" not in lookup
    assert client.get(f"/download-cleaned/{grant['uuid']}").status_code == 404
    assert usage.used(f"user#{pro_user.user_id}", usage_day()) == 0


def test_remove_upload_takes_a_preset_and_a_keep_list(
    client: TestClient, pro_user: KeyedUser, aws: Settings, tmp_path: Path
) -> None:
    from tests.support.media import exiftool, make_photo

    photo = make_photo(tmp_path / "trip.jpg", **{"XMP-photoshop:City": "Paris"})
    grant, status = _grant(
        client, pro_user, operation="remove", fileName="trip.jpg", preset="location", keep="City"
    )
    assert status == 200, grant
    _process(aws, _upload(grant, photo.read_bytes(), name="trip.jpg"))

    assert client.get(f"/api/v1/extract/{grant['uuid']}").json()["status"] == "completed"
    cleaned = tmp_path / "cleaned.jpg"
    cleaned.write_bytes(client.get(f"/download-cleaned/{grant['uuid']}").content)
    tags = json.loads(exiftool("-j", "-a", "-G1", str(cleaned)))[0]
    assert tags["XMP-photoshop:City"] == "Paris"  # kept on request
    assert tags["IFD0:Artist"] == "Jane Doe"  # only location goes
    assert not [k for k in tags if k.startswith("GPS:")]


def test_an_upload_grant_with_a_bad_preset_is_a_400(
    client: TestClient, pro_user: KeyedUser
) -> None:
    body, status = _grant(client, pro_user, operation="remove", preset="most")
    assert status == 400 and "most" in body["error"]


def test_duplicate_s3_event_is_processed_once_and_charged_once(
    client: TestClient, pro_user: KeyedUser, aws: Settings, photo: Path
) -> None:
    grant, _ = _grant(client, pro_user, operation="extract", fileName="a.jpg")
    key = _upload(grant, photo.read_bytes())

    first = _process(aws, key)
    second = _process(aws, key)

    assert first == {"processed": 1, "skipped": 0}
    assert second == {"processed": 0, "skipped": 1}
    assert usage.used(f"user#{pro_user.user_id}", usage_day()) == 1
    assert client.get(f"/api/v1/extract/{grant['uuid']}").json()["status"] == "completed"


def test_corrupt_upload_fails_with_a_reason_keeps_the_file_and_gives_the_image_back(
    client: TestClient, pro_user: KeyedUser, aws: Settings
) -> None:
    grant, _ = _grant(client, pro_user, operation="remove", fileName="broken.jpg")
    key = _upload(grant, b"\xff\xd8\xff\xe0 this is not really a JPEG " * 20)
    assert usage.used(f"user#{pro_user.user_id}", usage_day()) == 1

    _process(aws, key)

    lookup = client.get(f"/api/v1/extract/{grant['uuid']}").json()
    assert lookup["status"] == "failed"
    assert lookup["success"] is False
    assert "damaged" in lookup["error"] or "not supported" in lookup["error"]
    assert "downloadUrl" not in lookup
    assert _object_exists(aws, key)
    assert usage.used(f"user#{pro_user.user_id}", usage_day()) == 0


def test_upload_event_through_the_uploads_lambda_then_lookup_lambda(
    pro_user: KeyedUser, aws: Settings, photo: Path
) -> None:
    event = load_event("v1_uploads.json")
    event["headers"]["x-api-key"] = pro_user.key
    status, grant, _ = invoke("uploads", event)
    assert status == 200
    key = grant["upload"]["fields"]["key"]
    aws_client("s3").put_object(Bucket=aws.bucket, Key=key, Body=photo.read_bytes())
    _process(aws, key)

    lookup = load_event("v1_extract_lookup.json")
    lookup["rawPath"] = lookup["requestContext"]["http"]["path"] = (
        f"/api/v1/extract/{grant['uuid']}"
    )
    lookup["pathParameters"] = {"uuid": grant["uuid"]}
    status, body, _ = invoke("extract", lookup)
    assert status == 200
    assert body["status"] == "completed"
    assert body["operation"] == "remove"
    assert body["downloadUrl"] == (
        f"https://abcdef1234.execute-api.us-east-1.amazonaws.com/download-cleaned/{grant['uuid']}"
    )


def test_callback_url_to_a_private_address_is_refused(
    client: TestClient, pro_user: KeyedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_CALLBACK_SECRET", "s3cret")
    get_settings.cache_clear()
    body, status = _grant(
        client, pro_user, operation="extract", callbackUrl="http://127.0.0.1:9/hook"
    )
    assert status == 400
    assert "private" in body["error"]


class _Receiver:
    """A local HTTP endpoint that fails its first `failures` POSTs, then accepts."""

    def __init__(self, failures: int, fail_status: int = 503) -> None:
        self.failures = failures
        self.fail_status = fail_status
        self.received: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", "0"))
                receiver.received.append((self.rfile.read(length), dict(self.headers)))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(receiver.fail_status if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/exif"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(failures=1)
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_callback_receives_a_signed_result_and_is_retried_after_a_failure(
    client: TestClient,
    pro_user: KeyedUser,
    aws: Settings,
    photo: Path,
    receiver: _Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_CALLBACK_SECRET", "s3cret")
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")  # the receiver is local
    monkeypatch.setenv("EXIF_SERVICE_CALLBACK_BACKOFF_S", "0")
    get_settings.cache_clear()
    grant, status = _grant(
        client, pro_user, operation="extract", fileName="x.jpg", callbackUrl=receiver.url
    )
    assert status == 200
    key = _upload(grant, photo.read_bytes())

    _process(aws, key)

    assert len(receiver.received) == 2  # one failure, one success
    body, headers = receiver.received[-1]
    payload = json.loads(body)
    assert payload["uuid"] == grant["uuid"]
    assert payload["status"] == "completed"
    assert payload["metadata"]["exif"]["Model"] == "Canon EOS R5"
    signature = headers[SIGNATURE_HEADER]
    timestamp = int(signature.split(",")[0].removeprefix("t="))
    assert verify(body, signature, "s3cret", now=timestamp)
    assert not verify(body, signature, "another-secret", now=timestamp)
    assert not verify(body + b" ", signature, "s3cret", now=timestamp)


def test_local_server_processes_uploads_without_an_s3_event(
    client: TestClient, pro_user: KeyedUser, aws: Settings, photo: Path
) -> None:
    from datetime import UTC, datetime

    from exif_service.local.schedules import uploads_job

    grant, _ = _grant(client, pro_user, operation="extract", fileName="local.jpg")
    _upload(grant, photo.read_bytes())

    assert uploads_job(datetime.now(UTC)) == {"processed": 1}
    assert uploads_job(datetime.now(UTC)) == {"processed": 0}
    assert client.get(f"/api/v1/extract/{grant['uuid']}").json()["status"] == "completed"


def test_a_callback_refused_with_a_client_error_is_not_retried() -> None:
    from exif_service.services.callbacks import deliver

    receiver = _Receiver(failures=5, fail_status=410)
    receiver.thread.start()
    waits: list[float] = []
    settings = Settings(callback_secret="s3cret", allow_private_urls=True)
    try:
        assert deliver(receiver.url, {"uuid": "x"}, settings, sleep=waits.append) is False
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert len(receiver.received) == 1
    assert waits == []


def test_a_callback_to_a_private_address_is_never_sent() -> None:
    from exif_service.services.callbacks import deliver

    receiver = _Receiver(failures=0)
    receiver.thread.start()
    try:
        assert deliver(receiver.url, {"uuid": "x"}, Settings(callback_secret="s3cret")) is False
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert receiver.received == []
