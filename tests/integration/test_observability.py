"""Logs, metrics and request ids under real Lambda events: a 500 carries the request id its
log line has, logs hold no keys or file contents, metrics count files by surface."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import KeyedUser, load_event
from tests.support.lambdas import invoke

from exif_service.settings import Settings
from exif_service.store.aws import client as aws_client

BOUNDARY = "exsboundary4f2a"


def _extract_event(key: str, data: bytes) -> dict[str, Any]:
    event = load_event("v1_extract_upload.json")
    event["headers"]["x-api-key"] = key
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"'
            "\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    event["body"] = base64.b64encode(body).decode()
    return event


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines the Powertools handler writes during the test."""
    from exif_service.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    lines: list[dict[str, Any]] = []
    yield lines
    handler.setStream(previous)  # type: ignore[attr-defined]


def _read(lines: list[dict[str, Any]]) -> None:
    from exif_service.observability import logger

    buffer = logger.registered_handler.stream  # type: ignore[attr-defined]
    lines.extend(json.loads(line) for line in buffer.getvalue().splitlines() if line.strip())


def test_a_500_carries_the_request_id_that_its_log_line_has(
    aws: Settings, pro_user: KeyedUser, photo: Path, log_lines: list[dict[str, Any]]
) -> None:
    # a fault the code does not expect: the jobs table is gone
    aws_client("dynamodb").delete_table(TableName=aws.table_name("extractions"))
    event = _extract_event(pro_user.key, photo.read_bytes())

    status, body, response = invoke("extract", event)

    _read(log_lines)
    request_id = event["requestContext"]["requestId"]
    assert status == 500
    assert body["success"] is False
    assert body["requestId"] == request_id
    assert response["headers"]["x-request-id"] == request_id
    errors = [line for line in log_lines if line["level"] == "ERROR"]
    assert errors, log_lines
    assert errors[0]["correlation_id"] == request_id
    assert "cold_start" in errors[0]
    assert "Traceback" not in json.dumps(body)


def test_logs_never_contain_the_api_key_or_file_contents(
    aws: Settings, pro_user: KeyedUser, photo: Path, log_lines: list[dict[str, Any]]
) -> None:
    aws_client("dynamodb").delete_table(TableName=aws.table_name("extractions"))
    status, _, _ = invoke("extract", _extract_event(pro_user.key, photo.read_bytes()))

    _read(log_lines)
    text = json.dumps(log_lines)
    assert status == 500
    assert pro_user.key not in text
    assert "Canon EOS R5" not in text
    assert base64.b64encode(photo.read_bytes()[:60]).decode()[:40] not in text


def test_a_processed_file_is_counted_by_surface_and_operation(
    aws: Settings, pro_user: KeyedUser, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = invoke("extract", _extract_event(pro_user.key, photo.read_bytes()))

    assert status == 200
    blobs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    [counted] = [b for b in blobs if "FilesProcessed" in b]
    assert counted["surface"] == "v1"
    assert counted["operation"] == "POST /api/v1/extract"
    assert counted["FilesProcessed"] == [1.0]
    assert counted["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ExifService"


def test_a_quota_rejection_is_counted(
    aws: Settings, pro_user: KeyedUser, capsys: pytest.CaptureFixture[str]
) -> None:
    from exif_service.domain.plans import usage_day
    from exif_service.store import usage

    limit = aws.pro_daily_limit
    assert usage.try_consume(f"user#{pro_user.user_id}", usage_day(), limit, units=limit)
    event = load_event("v1_uploads.json")
    event["headers"]["x-api-key"] = pro_user.key

    status, body, _ = invoke("uploads", event)

    assert status == 429
    assert body["success"] is False
    blobs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert any(b.get("QuotaRejections") == [1.0] for b in blobs)
