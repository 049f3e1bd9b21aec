"""One settings model for the whole service, read from `EXIF_SERVICE_*` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from exif_service.store.parameters import read_secure_parameters

MB = 1024 * 1024
_REPO_ROOT = Path(__file__).resolve().parents[2]
# where the ExifTool layer (layers/exiftool) puts its files in a Lambda function
_LAMBDA_EXIFTOOL = Path("/opt/exiftool/exiftool")
_LAMBDA_PERL = Path("/opt/perl/bin/perl")
_HOST_EXIFTOOL = _REPO_ROOT / "layers" / "exiftool" / "build" / "host" / "exiftool" / "exiftool"


def _default_exiftool() -> Path:
    return _LAMBDA_EXIFTOOL if _LAMBDA_EXIFTOOL.exists() else _HOST_EXIFTOOL


def _default_perl() -> str:
    return str(_LAMBDA_PERL) if _LAMBDA_PERL.exists() else "perl"


class Settings(BaseSettings):
    """Everything the service can be told from outside; validated once per process."""

    model_config = SettingsConfigDict(env_prefix="EXIF_SERVICE_", extra="ignore")

    # engine
    exiftool_path: Path = Field(default_factory=_default_exiftool)
    perl_path: str = Field(default_factory=_default_perl)
    exiftool_min_version: float = 13.50
    exiftool_pool_size: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    exiftool_timeout_s: float = 30.0
    max_image_pixels: int = 100_000_000
    # PEM file of the root certificates whose Content Credentials signers count as trusted
    # (`valid`); without one, an intact manifest reads `untrusted`
    c2pa_trust_anchors: Path | None = None

    # requests and files
    max_upload_bytes: int = 25 * MB
    # cap on a request body when lower than max_upload_bytes (Lambda: 6 MB payload, base64)
    max_request_bytes: int | None = None
    allow_private_urls: bool = False
    fetch_connect_timeout_s: float = 5.0
    fetch_read_timeout_s: float = 15.0
    fetch_max_redirects: int = 5
    public_base_url: str | None = None
    # Serve downloads as redirects to presigned S3 URLs (AWS) or stream them (local emulator).
    download_redirects: bool = False
    download_ttl_hours: int = 24
    # how long a soft-deleted file waits before the purge removes blob and record
    purge_grace_hours: int = 24
    presign_ttl_s: int = 300

    # storage
    table_prefix: str = "exif-service"
    bucket: str = "exif-service-files"
    region: str = "us-east-1"
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    # A dead or throttled store fails a request in seconds (503 + Retry-After), not minutes:
    # botocore's and pynamodb's clients wait this long for a connection and for each read, and
    # make this many attempts in all (standard retry mode, backing off between them).
    store_connect_timeout_s: int = 2
    store_read_timeout_s: int = 3
    store_max_attempts: int = 3
    store_retry_after_s: int = 5
    # a refund that hits a fault is tried this many times more, none started after the budget,
    # before it is logged as lost (the request must still answer inside the Lambda's timeout)
    refund_retries: int = 3
    refund_budget_s: float = 8.0

    # plans
    free_daily_limit: int = 5
    pro_daily_limit: int = 300
    public_daily_limit_per_ip: int = 20
    # Idempotency-Key: a retry may take over a claim whose request has not answered after this
    # long (its process died); answers are kept 24 h (domain/idempotency.py)
    idempotency_lease_s: float = 300.0

    # browser sessions
    session_ttl_days: int = 30
    # Origins (comma-separated, e.g. "https://app.example.com") trusted for cookie-authenticated
    # state-changing requests, besides the request's own host and public_base_url.
    allowed_origins: str = ""

    # throttling (services/throttle.py, state in the throttle table): an account is locked out
    # after this many sign-in failures, an address after this many (many people may share one),
    # for lockout_base_s doubled with each further failure up to lockout_max_s; failures are
    # counted in windows of attempt_window_s, as are sign-ups and feedback per address
    signin_account_failures: int = 5
    signin_address_failures: int = 20
    signin_lockout_base_s: int = 30
    signin_lockout_max_s: int = 900
    signup_per_address: int = 30
    feedback_per_address: int = 20
    attempt_window_s: int = 3600
    # API key -> account, cached in each process (0 turns it off): a key revoked or an owner's
    # plan changed by another process is noticed within this many seconds
    key_cache_ttl_s: float = 30.0

    # billing (Stripe); while the key is unset the billing endpoints answer 503
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_price_id: str | None = None
    stripe_success_url: str | None = None
    stripe_cancel_url: str | None = None
    stripe_api_base: str | None = None  # tests point the stripe library at a local fake

    # large files straight to S3 (POST /api/v1/uploads) and the optional signed callbacks
    max_s3_upload_bytes: int = 500 * MB
    upload_ttl_s: int = 900
    callback_secret: SecretStr | None = None
    callback_attempts: int = 4
    callback_backoff_s: float = 2.0
    callback_timeout_s: float = 10.0

    # Secrets a deployment keeps in SSM Parameter Store (SecureString): only their names are in
    # the environment, the values are read and decrypted once per process by get_settings().
    stripe_secret_parameter: str | None = None
    stripe_webhook_secret_parameter: str | None = None
    callback_secret_parameter: str | None = None

    # local runtime
    # `exif-service serve` runs the usage and purge jobs on their AWS schedule
    run_schedules: bool = True
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".exif-service")
    # every acknowledged write of the embedded emulator is journaled (and fsync'd when
    # local_journal_sync) before its answer; the journal is folded into the snapshot past this size
    local_journal: bool = True
    local_journal_sync: bool = True
    local_journal_fold_bytes: int = 64 * MB
    # the local server closes a connection whose request headers take longer than this, or
    # whose body stalls this long, and serves at most this many connections at once (503 above)
    local_header_timeout_s: float = 10.0
    local_body_idle_timeout_s: float = 30.0
    local_max_connections: int = 100
    # comma-separated proxy addresses whose X-Forwarded-For / -Proto the local server believes
    # ("*" for any); empty: the client address is the connection's peer
    forwarded_allow_ips: str = ""

    def table_name(self, model: str) -> str:
        """The DynamoDB table that holds `model` in this deployment."""
        return f"{self.table_prefix}-{model}"


# secret setting <- the setting naming the SSM parameter that holds it
_PARAMETER_SECRETS = {
    "stripe_secret_key": "stripe_secret_parameter",
    "stripe_webhook_secret": "stripe_webhook_secret_parameter",
    "callback_secret": "callback_secret_parameter",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return _with_parameter_secrets(Settings())


def _with_parameter_secrets(settings: Settings) -> Settings:
    wanted = {
        field: name
        for field, parameter in _PARAMETER_SECRETS.items()
        if (name := getattr(settings, parameter)) and getattr(settings, field) is None
    }
    if not wanted:
        return settings
    values = read_secure_parameters(
        sorted(set(wanted.values())), settings.region, settings.aws_endpoint_url
    )
    found = {field: SecretStr(values[name]) for field, name in wanted.items() if name in values}
    return settings.model_copy(update=found)
