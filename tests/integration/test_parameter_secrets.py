"""Secrets the deployment keeps in SSM Parameter Store: only names in the environment, the
values read and decrypted when the settings are built."""

from __future__ import annotations

import pytest

from exif_service.settings import Settings, get_settings
from exif_service.store.aws import client as aws_client


def test_secrets_named_by_ssm_parameters_are_read_and_decrypted(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/exs/stripe", Value="sk_test_123", Type="SecureString")
    ssm.put_parameter(Name="/exs/callback", Value="cb-secret", Type="SecureString")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_PARAMETER", "/exs/stripe")
    monkeypatch.setenv("EXIF_SERVICE_CALLBACK_SECRET_PARAMETER", "/exs/callback")
    get_settings.cache_clear()

    settings = get_settings()

    assert settings.stripe_secret_key is not None
    assert settings.stripe_secret_key.get_secret_value() == "sk_test_123"
    assert settings.callback_secret is not None
    assert settings.callback_secret.get_secret_value() == "cb-secret"
    assert "sk_test_123" not in repr(settings)


def test_a_missing_parameter_leaves_the_feature_off_instead_of_failing(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_PARAMETER", "/exs/not-there")
    get_settings.cache_clear()

    assert get_settings().stripe_secret_key is None


def test_a_secret_set_directly_wins_over_its_parameter(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_KEY", "sk_local")
    monkeypatch.setenv("EXIF_SERVICE_STRIPE_SECRET_PARAMETER", "/exs/not-there")
    get_settings.cache_clear()

    secret = get_settings().stripe_secret_key
    assert secret is not None and secret.get_secret_value() == "sk_local"
