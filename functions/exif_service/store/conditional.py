"""Conditional writes: a write whose condition does not hold is an answer, not an error.

The stores use DynamoDB's conditions where a read-then-write would race (the quota counter, a
job finished by two runs, a Stripe event delivered twice); the refusal is recognised by its
error code, never by its message.
"""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from exif_service.store.faults import translated

_CONDITION_FAILED = "ConditionalCheckFailedException"


def conditional_write(write: Callable[[], object]) -> bool:
    """Run `write` (a save, update or delete with a condition); False if the condition failed.

    A transient fault (throttling, a timeout, no connection) raises `StoreUnavailable`.
    """
    try:
        with translated():
            write()
    except (PutError, UpdateError, DeleteError) as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True
