"""DynamoDB tables as pynamodb models: the single definition used by the code, the local
emulator and the infrastructure test that keeps template.yaml in agreement."""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class _Base(Model):
    class Meta:
        abstract = True
        table_name = "unbound"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"


_M = TypeVar("_M", bound=Model)


class UserIndex(GlobalSecondaryIndex[_M]):
    """`user-index`: one user's items by creation time (API keys, history, library).

    One class serves all three tables: its Meta holds only the index's name, projection and
    keys, while the model is bound to the index instance (pynamodb sets `_model` on a copy of
    it for each model class), so each model declares its own `UserIndex[Model]()`.
    """

    class Meta:
        index_name = "user-index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UserEmailIndex(GlobalSecondaryIndex["User"]):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class User(_Base):
    """An account: email + password (argon2), plan, admin flag."""

    class Meta(_Base.Meta):
        table_key = "users"

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    plan = UnicodeAttribute(default="free")
    is_admin = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    stripe_customer_id = UnicodeAttribute(null=True)
    stripe_subscription_id = UnicodeAttribute(null=True)
    # creation time of the newest Stripe event applied: older ones arriving late are ignored
    stripe_event_at = UTCDateTimeAttribute(null=True)
    # live API keys, raised and lowered in the same transaction as the key item (5-key limit)
    api_key_count = NumberAttribute(default=0)
    # sessions started before this moment are signed out (set by a password change)
    sessions_valid_from = UTCDateTimeAttribute(null=True)
    email_index = UserEmailIndex()


class Session(_Base):
    """A browser session, looked up by the SHA-256 of its cookie value."""

    class Meta(_Base.Meta):
        table_key = "sessions"

    token_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)


class ApiKey(_Base):
    """An API key, stored only as the SHA-256 of the raw key."""

    class Meta(_Base.Meta):
        table_key = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    masked = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked = BooleanAttribute(default=False)
    user_index = UserIndex["ApiKey"]()


class Extraction(_Base):
    """A v1 extract or remove job and its result."""

    class Meta(_Base.Meta):
        table_key = "extractions"

    uuid = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(null=True)
    operation = UnicodeAttribute(default="extract")
    status = UnicodeAttribute(default="completed")
    file_name = UnicodeAttribute(default="")
    metadata: JSONAttribute = JSONAttribute(null=True)
    metadata_key = UnicodeAttribute(null=True)
    result_key = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    callback_url = UnicodeAttribute(null=True)
    kept = ListAttribute(of=UnicodeAttribute, null=True)
    strip_keep = ListAttribute(of=UnicodeAttribute, null=True)
    content_credentials = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    download_expires_at = UTCDateTimeAttribute(null=True)
    ttl = TTLAttribute(null=True)


class FileRecord(_Base):
    """A processed file kept for download (history)."""

    class Meta(_Base.Meta):
        table_key = "files"

    file_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    tool = UnicodeAttribute()
    file_name = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    content_type = UnicodeAttribute(default="application/octet-stream")
    size = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    download_expires_at = UTCDateTimeAttribute()
    deleted = BooleanAttribute(default=False)
    soft_deleted_at = UTCDateTimeAttribute(null=True)
    user_index = UserIndex["FileRecord"]()


class LibraryFile(_Base):
    """A file in a user's media library (ImageKit surface); kept until deleted."""

    class Meta(_Base.Meta):
        table_key = "library"

    file_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    file_path = UnicodeAttribute()
    folder = UnicodeAttribute(default="/")
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    s3_key = UnicodeAttribute()
    size = NumberAttribute(default=0)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    file_type = UnicodeAttribute(default="non-image")
    mime = UnicodeAttribute(default="application/octet-stream")
    phash = UnicodeAttribute(null=True)
    # random secret in the file's shareable `url`, so it can be fetched without the API key
    url_token = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    user_index = UserIndex["LibraryFile"]()


class UsageCounter(_Base):
    """Images processed by one subject (user or client IP) on one UTC day."""

    class Meta(_Base.Meta):
        table_key = "usage"

    subject = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    used = NumberAttribute(default=0)
    ttl = TTLAttribute(null=True)


class Feedback(_Base):
    class Meta(_Base.Meta):
        table_key = "feedback"

    feedback_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    message = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    source_path = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class StripeEvent(_Base):
    """Stripe webhook events already processed (idempotency)."""

    class Meta(_Base.Meta):
        table_key = "stripe-events"

    event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()
    processed_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)


class EmailOwner(_Base):
    """The one user an email address belongs to: written in the same transaction as the user,
    under `attribute_not_exists`, so two sign-ups with one address cannot both succeed (the
    users table's email index is eventually consistent and enforces nothing)."""

    class Meta(_Base.Meta):
        table_key = "emails"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ThrottleState(_Base):
    """Failed or counted attempts of one subject (an account or a client address, per action)
    and how long it is locked out; items expire through the TTL once they no longer matter."""

    class Meta(_Base.Meta):
        table_key = "throttle"

    subject = UnicodeAttribute(hash_key=True)
    attempts = NumberAttribute(default=0)
    # epoch seconds: when the current counting window began, and until when the subject waits
    window_start = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    ttl = TTLAttribute(null=True)


class IdempotencyItem(_Base):
    """A request sent with an Idempotency-Key and, once answered, its answer (kept 24 h)."""

    class Meta(_Base.Meta):
        table_key = "idempotency"

    record_id = UnicodeAttribute(hash_key=True)  # sha256 of the caller and the key
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()  # pending | done
    token = UnicodeAttribute()  # which claim is running, so a stale one cannot overwrite
    # epoch seconds, compared by the code (the TTL deletes late, up to days after expiry)
    lease_until = NumberAttribute()
    expires_at = NumberAttribute()
    status = NumberAttribute(null=True)
    headers = JSONAttribute(null=True)
    body_b64 = UnicodeAttribute(null=True)  # small bodies inline (text: the snapshot is JSON)
    body_key = UnicodeAttribute(null=True)  # larger ones in S3 under results/
    redirect = JSONAttribute(null=True)  # the kept file a redirect pointed to
    ttl = TTLAttribute(null=True)


ALL_MODELS: tuple[type[Model], ...] = (
    User,
    Session,
    ApiKey,
    Extraction,
    FileRecord,
    LibraryFile,
    UsageCounter,
    Feedback,
    StripeEvent,
    EmailOwner,
    ThrottleState,
    IdempotencyItem,
)


def table_key(model: type[Model]) -> str:
    """The short name of a model's table (`users`, `api-keys`, ...)."""
    key: Any = getattr(model.Meta, "table_key")  # noqa: B009 - Meta is a plain inner class
    return str(key)
