"""Users and API keys in DynamoDB.

A user's live keys are counted on the user item (`api_key_count`); a key is created or deleted
in one transaction with that count, under a condition, so the per-user limit holds even when
two requests race.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from exif_service.domain.accounts import (
    MAX_KEYS_PER_USER,
    Account,
    ApiKeyInfo,
    Plan,
    hash_key,
    mask_key,
    new_api_key,
)
from exif_service.domain.errors import KeyLimitReached, NotFound
from exif_service.store.mapping import to_record
from exif_service.store.models import ApiKey, User

MAX_KEY_NAME = 100


def _account(user: User) -> Account:
    return to_record(Account, user, plan=Plan(user.plan), is_admin=bool(user.is_admin))


def _key_info(key: ApiKey) -> ApiKeyInfo:
    return to_record(ApiKeyInfo, key)


def _connection() -> Connection:
    # transactions need their own connection: point it where the bound models point
    return Connection(region=User.Meta.region, host=getattr(User.Meta, "host", None))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    for user in User.email_index.query(normalise_email(email), limit=1):
        return user
    return None


def get_user(user_id: str) -> Account | None:
    try:
        return _account(User.get(user_id))
    except DoesNotExist:
        return None


def upsert_user(email: str, plan: Plan | None = None, is_admin: bool | None = None) -> Account:
    """Find the user with this email or create one; update plan/admin when given."""
    user = find_user_by_email(email)
    if user is None:
        user = User(
            user_id=uuid.uuid4().hex,
            email=normalise_email(email),
            plan=(plan or Plan.FREE).value,
            is_admin=bool(is_admin),
            created_at=datetime.now(UTC),
        )
        user.save()
        return _account(user)
    actions: list[Action] = []
    if plan is not None:
        actions.append(User.plan.set(plan.value))
    if is_admin is not None:
        actions.append(User.is_admin.set(is_admin))
    if actions:
        user.update(actions=actions)
    return _account(user)


def create_user(email: str, password_hash: str) -> Account | None:
    """A new free user with this email and password hash; None if the email is taken.

    The email index is not a uniqueness constraint: two sign-ups racing with the same email
    within the index's propagation delay could both pass this check.
    """
    if find_user_by_email(email) is not None:
        return None
    user = User(
        user_id=uuid.uuid4().hex,
        email=normalise_email(email),
        password_hash=password_hash,
        plan=Plan.FREE.value,
        is_admin=False,
        created_at=datetime.now(UTC),
    )
    user.save(condition=User.user_id.does_not_exist())
    return _account(user)


def credentials_for(email: str) -> tuple[Account, str | None] | None:
    """The user with this email and their stored password hash (None if they have none)."""
    user = find_user_by_email(email)
    if user is None:
        return None
    return _account(user), user.password_hash


def set_password_hash(user_id: str, password_hash: str) -> None:
    User(user_id=user_id).update(actions=[User.password_hash.set(password_hash)])


def set_plan(user_id: str, plan: Plan) -> None:
    User(user_id=user_id).update(actions=[User.plan.set(plan.value)])


def create_api_key(
    user_id: str, name: str = "", limit: int = MAX_KEYS_PER_USER
) -> tuple[str, ApiKeyInfo]:
    """Make a new key for `user_id` unless they already have `limit` live keys.

    The raw key is returned here and never stored; only its SHA-256 is.
    """
    raw = new_api_key()
    key = ApiKey(
        key_hash=hash_key(raw),
        key_id=uuid.uuid4().hex[:16],
        user_id=user_id,
        name=name.strip()[:MAX_KEY_NAME],
        masked=mask_key(raw),
        created_at=datetime.now(UTC),
    )
    below_limit = User.user_id.exists() & (
        User.api_key_count.does_not_exist() | (User.api_key_count < limit)
    )
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                User(user_id=user_id),
                actions=[User.api_key_count.add(1)],
                condition=below_limit,
            )
            tx.save(key, condition=ApiKey.key_hash.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            if get_user(user_id) is None:
                raise NotFound("No such user.") from exc
            raise KeyLimitReached(
                f"You can have at most {limit} API keys. Revoke one before creating another."
            ) from exc
        raise
    return raw, _key_info(key)


def list_api_keys(user_id: str) -> list[ApiKeyInfo]:
    keys = ApiKey.user_index.query(user_id, scan_index_forward=False)
    return [_key_info(k) for k in keys if not k.revoked]


def revoke_api_key(user_id: str, key_id: str) -> bool:
    """Delete the owner's key with this id; False if the owner has no such key."""
    for key in ApiKey.user_index.query(user_id):
        if key.key_id != key_id or key.revoked:
            continue
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.delete(key, condition=ApiKey.user_id == user_id)
                tx.update(
                    User(user_id=user_id),
                    actions=[User.api_key_count.add(-1)],
                    condition=User.api_key_count > 0,
                )
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            reasons = exc.cancellation_reasons
            if reasons and reasons[0] is not None:
                return False  # deleted meanwhile by another request
            # a count that was never raised (keys made before it existed): just delete
            key.delete()
        return True
    return False


def resolve_api_key(raw: str) -> Account | None:
    """The owner of a raw key, or None for an unknown or revoked key."""
    digest = hash_key(raw)
    try:
        key = ApiKey.get(digest)
    except DoesNotExist:
        return None
    if key.revoked or not hmac.compare_digest(key.key_hash, digest):
        return None
    now = datetime.now(UTC)
    # a write per request would cost as much as the lookup; a minute's precision is plenty
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_PRECISION:
        key.update(actions=[ApiKey.last_used_at.set(now)])
    return get_user(key.user_id)


_LAST_USED_PRECISION = timedelta(minutes=1)
