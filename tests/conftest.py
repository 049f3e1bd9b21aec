"""Shared fixtures: fake AWS credentials, moto-backed tables and bucket, users with keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from exif_service.settings import Settings, get_settings
from exif_service.store.aws import reset_clients

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """An API Gateway / S3 / EventBridge event from tests/events/."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "EXIF_SERVICE_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("EXIF_SERVICE_DATA_DIR", str(tmp_path / ".exif-service"))
    get_settings.cache_clear()
    reset_clients()
    yield
    get_settings.cache_clear()
    reset_clients()


@pytest.fixture
def aws() -> Iterator[Settings]:
    """Tables and bucket in moto, created from the definitions production uses."""
    from exif_service.local.emulator import prepare_store

    with mock_aws():
        reset_clients()
        settings = get_settings()
        prepare_store(settings)
        yield settings
    reset_clients()


@pytest.fixture
def client(aws: Settings) -> TestClient:
    """The local all-in-one app over moto and the real ExifTool."""
    from exif_service.local.app import create_local_app

    return TestClient(create_local_app())


@dataclass(frozen=True)
class KeyedUser:
    user_id: str
    email: str
    key: str


def make_user(email: str, plan: str = "pro", admin: bool = False) -> KeyedUser:
    from exif_service.domain.accounts import Plan
    from exif_service.store.accounts import create_api_key, upsert_user

    account = upsert_user(email, plan=Plan(plan), is_admin=admin)
    raw, _ = create_api_key(account.user_id, "test")
    return KeyedUser(account.user_id, account.email, raw)


@pytest.fixture
def pro_user(aws: Settings) -> KeyedUser:
    return make_user("pro@example.com", "pro")


@pytest.fixture
def free_user(aws: Settings) -> KeyedUser:
    return make_user("free@example.com", "free")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A JPEG with camera, GPS, identity, IPTC, XMP, comment, thumbnail and ICC profile."""
    from tests.support.media import make_photo

    return make_photo(tmp_path / "photo.jpg")
