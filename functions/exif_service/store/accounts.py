"""Users and API keys in DynamoDB.

A user's live keys are counted on the user item (`api_key_count`); a key is created or deleted
in one transaction with that count, under a condition, so the per-user limit holds even when
two requests race. Likewise a user is created in one transaction with an item owning the
normalised email address (the `emails` table), so one address makes one account.
"""

from __future__ import annotations

import hmac
import time
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
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.mapping import to_record
from exif_service.store.models import ApiKey, EmailOwner, User

MAX_KEY_NAME = 100
# DynamoDB cancels a transaction that meets another one in flight on the same item
_TRANSACTION_TRIES = 3


def _account(user: User) -> Account:
    return to_record(Account, user, plan=Plan(user.plan), is_admin=bool(user.is_admin))


def _key_info(key: ApiKey) -> ApiKeyInfo:
    return to_record(ApiKeyInfo, key)


def _connection() -> Connection:
    # transactions need their own connection: point it where the bound models point
    return Connection(region=User.Meta.region, host=getattr(User.Meta, "host", None))


def normalise_email(email: str) -> str:
    return email.strip().lower()


@translate_faults
def find_user_by_email(email: str) -> User | None:
    """The user who owns this address: by its email item (strongly consistent), else through
    the email index for accounts made before email items existed."""
    address = normalise_email(email)
    try:
        owner = EmailOwner.get(address, consistent_read=True)
    except DoesNotExist:
        pass
    else:
        try:
            return User.get(owner.user_id)
        except DoesNotExist:
            return None
    for user in User.email_index.query(address, limit=1):
        return user
    return None


@translate_faults
def get_user(user_id: str) -> Account | None:
    try:
        return _account(User.get(user_id))
    except DoesNotExist:
        return None


@translate_faults
def upsert_user(email: str, plan: Plan | None = None, is_admin: bool | None = None) -> Account:
    """Find the user with this email or create one; update plan/admin when given."""
    user = find_user_by_email(email)
    if user is None:
        created = _insert_user(email, None, plan or Plan.FREE, bool(is_admin))
        if created is not None:
            return _account(created)
        user = find_user_by_email(email)  # made by a concurrent request meanwhile
        if user is None:
            raise RuntimeError("the email is claimed by no readable user")
    actions: list[Action] = []
    if plan is not None:
        actions.append(User.plan.set(plan.value))
    if is_admin is not None:
        actions.append(User.is_admin.set(is_admin))
    if actions:
        user.update(actions=actions)
    return _account(user)


@translate_faults
def create_user(email: str, password_hash: str) -> Account | None:
    """A new free user with this email and password hash; None if the email is taken.

    The user and the item owning the address are written in one transaction, the address under
    `attribute_not_exists`: of any number of sign-ups racing with one address exactly one
    succeeds (the email index alone is eventually consistent and unique on nothing).
    """
    if find_user_by_email(email) is not None:
        return None
    user = _insert_user(email, password_hash, Plan.FREE, False)
    return _account(user) if user is not None else None


def _insert_user(email: str, password_hash: str | None, plan: Plan, is_admin: bool) -> User | None:
    """Write a new user and its email item together; None when the address is taken."""
    now = datetime.now(UTC)
    address = normalise_email(email)
    for attempt in range(_TRANSACTION_TRIES):
        user = User(
            user_id=uuid.uuid4().hex,
            email=address,
            password_hash=password_hash,
            plan=plan.value,
            is_admin=is_admin,
            created_at=now,
        )
        owner = EmailOwner(email=address, user_id=user.user_id, created_at=now)
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.save(owner, condition=EmailOwner.email.does_not_exist())
                tx.save(user, condition=User.user_id.does_not_exist())
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            codes = {r.code for r in exc.cancellation_reasons or [] if r is not None}
            if "ConditionalCheckFailed" in codes:
                return None
            # another transaction on the same items was in flight (TransactionConflict)
            time.sleep(0.05 * (attempt + 1))
            continue
        return user
    if find_user_by_email(address) is not None:
        return None
    raise RuntimeError("could not create the user: the store kept refusing the transaction")


def credentials_for(email: str) -> tuple[Account, str | None] | None:
    """The user with this email and their stored password hash (None if they have none)."""
    user = find_user_by_email(email)
    if user is None:
        return None
    return _account(user), user.password_hash


@translate_faults
def set_password_hash(user_id: str, password_hash: str) -> None:
    User(user_id=user_id).update(actions=[User.password_hash.set(password_hash)])


@translate_faults
def change_password_hash(user_id: str, password_hash: str, sessions_from: datetime) -> None:
    """A new password, and every session started before `sessions_from` signed out."""
    User(user_id=user_id).update(
        actions=[
            User.password_hash.set(password_hash),
            User.sessions_valid_from.set(sessions_from),
        ],
        condition=User.user_id.exists(),
    )


@translate_faults
def session_account(user_id: str, started_at: datetime) -> Account | None:
    """The user of a session started at `started_at`, unless it has been signed out since."""
    try:
        user = User.get(user_id)
    except DoesNotExist:
        return None
    if user.sessions_valid_from is not None and started_at < user.sessions_valid_from:
        return None
    return _account(user)


@translate_faults
def set_plan(user_id: str, plan: Plan) -> None:
    User(user_id=user_id).update(actions=[User.plan.set(plan.value)])


@translate_faults
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


@translate_faults
def list_api_keys(user_id: str) -> list[ApiKeyInfo]:
    keys = ApiKey.user_index.query(user_id, scan_index_forward=False)
    return [_key_info(k) for k in keys if not k.revoked]


@translate_faults
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


@translate_faults
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


@translate_faults
def touch_api_key(raw: str, at: datetime) -> None:
    """Record a use of a key whose owner was found without reading it (the key cache)."""
    key = ApiKey(key_hash=hash_key(raw))
    # never recreate a key deleted meanwhile as a stub item
    conditional_write(
        lambda: key.update(
            actions=[ApiKey.last_used_at.set(at)], condition=ApiKey.key_hash.exists()
        )
    )
