"""The images and admin Lambda handlers, invoked with API Gateway HTTP API (2.0) events."""

from __future__ import annotations

import base64
import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import KeyedUser, load_event, make_user
from tests.support.lambdas import LambdaContext, invoke
from tests.support.media import exiftool

from exif_service.settings import Settings

PLACEHOLDER = "Bearer exs_REPLACED_BY_THE_TEST_WITH_A_REAL_KEY"


def with_key(event: dict[str, Any], key: str) -> dict[str, Any]:
    """The stored event, sent with a real key (stored events carry none, or a placeholder)."""
    assert event["headers"].get("authorization", PLACEHOLDER) == PLACEHOLDER
    event["headers"]["authorization"] = f"Bearer {key}"
    return event


def call(module: str, event: dict[str, Any]) -> dict[str, Any]:
    handler = importlib.import_module(f"exif_service.handlers.{module}").handler
    response: dict[str, Any] = handler(event, LambdaContext())
    return response


def test_view_exif_event_returns_json_with_gps(aws: Settings) -> None:
    status, body, response = invoke("images", load_event("images_view_exif.json"))
    assert status == 200
    assert response["isBase64Encoded"] is False
    assert body["metadata"]["Make"] == "Canon"
    assert body["gps"] == {"lat": 22.3193, "lng": 114.1694}


def test_strip_exif_event_returns_the_image_base64_encoded(
    aws: Settings, pro_user: KeyedUser, tmp_path: Path
) -> None:
    response = call("images", with_key(load_event("images_strip_exif.json"), pro_user.key))
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"] == "image/jpeg"
    assert 'filename="harbour.jpg"' in headers["content-disposition"]
    out = tmp_path / "clean.jpg"
    out.write_bytes(base64.b64decode(response["body"]))
    tags = json.loads(exiftool("-j", "-G1", str(out)))[0]
    assert tags["File:FileType"] == "JPEG"
    assert "IFD0:Make" not in tags and "GPS:GPSLatitude" not in tags


def test_strip_exif_event_without_a_valid_key_is_401(aws: Settings) -> None:
    status, body, _ = invoke("images", load_event("images_strip_exif.json"))
    assert status == 401
    assert body["ok"] is False


def test_admin_files_event_renders_the_table_for_admins_only(
    aws: Settings, pro_user: KeyedUser, tmp_path: Path
) -> None:
    from exif_service.services.history import keep_result
    from exif_service.store.accounts import get_user
    from exif_service.store.blobs import Blobs

    owner = get_user(pro_user.user_id)
    assert owner is not None
    path = tmp_path / "r.jpg"
    path.write_bytes(b"\xff\xd8 result")
    item = keep_result(owner, "strip-exif", "r.jpg", path, "image/jpeg", Blobs(), datetime.now(UTC))

    denied = call("admin", with_key(load_event("admin_files.json"), pro_user.key))
    assert denied["statusCode"] == 403

    admin = make_user("admin@example.com", "pro", admin=True)
    response = call("admin", with_key(load_event("admin_files.json"), admin.key))
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert item.file_id in response["body"]
