"""Users and API keys in DynamoDB."""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from exif_service.domain.accounts import (
    Account,
    ApiKeyInfo,
    Plan,
    hash_key,
    mask_key,
    new_api_key,
)
from exif_service.store.models import ApiKey, User


def _account(user: User) -> Account:
    return Account(
        user_id=user.user_id,
        email=user.email,
        plan=Plan(user.plan),
        is_admin=bool(user.is_admin),
        created_at=user.created_at,
    )


def _key_info(key: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=key.key_id,
        user_id=key.user_id,
        name=key.name,
        masked=key.masked,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


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


def set_plan(user_id: str, plan: Plan) -> None:
    User(user_id=user_id).update(actions=[User.plan.set(plan.value)])


def create_api_key(user_id: str, name: str = "") -> tuple[str, ApiKeyInfo]:
    """Make a new key for `user_id`; the raw key is returned here and never stored."""
    raw = new_api_key()
    key = ApiKey(
        key_hash=hash_key(raw),
        key_id=uuid.uuid4().hex[:16],
        user_id=user_id,
        name=name[:100],
        masked=mask_key(raw),
        created_at=datetime.now(UTC),
    )
    key.save()
    return raw, _key_info(key)


def list_api_keys(user_id: str) -> list[ApiKeyInfo]:
    keys = ApiKey.user_index.query(user_id, scan_index_forward=False)
    return [_key_info(k) for k in keys if not k.revoked]


def revoke_api_key(user_id: str, key_id: str) -> bool:
    """Revoke the owner's key with this id; False if the owner has no such key."""
    for key in ApiKey.user_index.query(user_id):
        if key.key_id == key_id and not key.revoked:
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
    key.update(actions=[ApiKey.last_used_at.set(datetime.now(UTC))])
    return get_user(key.user_id)


def set_password(user_id: str, password: str) -> None:
    """Store an argon2 hash of `password` for the user."""
    from argon2 import PasswordHasher

    User(user_id=user_id).update(actions=[User.password_hash.set(PasswordHasher().hash(password))])
