"""The ImageKit Lambda handler with API Gateway (HTTP API, payload 2.0) events."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlencode

from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import invoke

from exif_service.settings import Settings


def _with_key(event: dict[str, Any], key: str) -> dict[str, Any]:
    token = base64.b64encode(f"{key}:do_not_set".encode()).decode()
    event["headers"]["authorization"] = f"Basic {token}"
    return event


def _on_path(event: dict[str, Any], path: str) -> dict[str, Any]:
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    return event


def test_upload_then_metadata_through_the_lambda_handler(
    aws: Settings, pro_user: KeyedUser
) -> None:
    status, uploaded, _ = invoke(
        "imagekit", _with_key(load_event("imagekit_upload.json"), pro_user.key)
    )
    assert status == 200, uploaded
    assert uploaded["name"] == "red.png"
    assert uploaded["metadata"]["format"] == "png"
    assert (uploaded["width"], uploaded["height"]) == (8, 6)
    assert uploaded["url"].startswith("https://abcdef1234.execute-api.us-east-1.amazonaws.com/")

    event = load_event("imagekit_file_metadata.json")
    event = _on_path(_with_key(event, pro_user.key), f"/v1/files/{uploaded['fileId']}/metadata")
    status, meta, _ = invoke("imagekit", event)
    assert status == 200, meta
    assert meta == uploaded["metadata"]

    remote = _with_key(load_event("imagekit_remote_metadata.json"), pro_user.key)
    remote["rawQueryString"] = urlencode({"url": uploaded["url"]}, quote_via=quote)
    remote["queryStringParameters"] = {"url": uploaded["url"]}
    status, from_url, _ = invoke("imagekit", remote)
    assert status == 200, from_url
    assert from_url == uploaded["metadata"]


def test_lambda_answers_unknown_file_and_bad_key_in_imagekits_envelope(
    aws: Settings, pro_user: KeyedUser
) -> None:
    status, body, _ = invoke(
        "imagekit", _with_key(load_event("imagekit_file_metadata.json"), pro_user.key)
    )
    assert status == 404
    assert set(body) == {"message", "help"}
    status, body, _ = invoke("imagekit", load_event("imagekit_file_metadata.json"))
    assert status == 401
    assert set(body) == {"message", "help"}
