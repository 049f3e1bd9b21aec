"""Storage faults: DynamoDB or S3 throttling, failing, refusing the connection or timing out.

They become `StoreUnavailable` here, at the edge, so every surface can answer 503 with
`Retry-After` and the work's charge is given back. A fault is recognised by exception type and
error code, never by message text; the exception is looked for through pynamodb's wrappers
(`PutError`, `GetError`, `QueryError`, ... keep the botocore error as `cause`), boto3's transfer
wrappers and Python's exception chain. Anything else (a failed condition, a missing item, a
validation error) is not a fault and passes through unchanged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from exif_service.domain.errors import StoreUnavailable
from exif_service.settings import get_settings

log = logging.getLogger(__name__)

# Error codes that mean "not now" rather than "never": DynamoDB's throttles and server errors,
# S3's SlowDown and its 5xx codes.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionInProgressException",
    }
)
# A cancelled transaction names, per item, why; these reasons are transient too.
_TRANSIENT_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}
)
_MESSAGE = "Storage is temporarily unavailable. Nothing was kept; try again in a few seconds."
_DEPTH = 8  # wrappers nest two or three deep; a cycle must not loop forever

_P = ParamSpec("_P")
_T = TypeVar("_T")


def fault_of(exc: BaseException) -> BaseException | None:
    """The transient storage fault behind `exc`, if there is one."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < _DEPTH:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_transient(current):
            return current
        pending += [current.__context__, current.__cause__, *_wrapped(current)]
    return None


def _wrapped(exc: BaseException) -> list[BaseException | None]:
    inner: list[BaseException | None] = []
    if isinstance(exc, PynamoDBException):
        inner.append(exc.cause)
    # boto3's and s3transfer's RetriesExceededError keep the last attempt's error
    last = getattr(exc, "last_exception", None)
    if isinstance(last, BaseException):
        inner.append(last)
    return inner


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | HTTPClientError):
        # refused, reset, closed, connect or read timeout, a body cut off while streaming
        return True
    if isinstance(exc, TransactWriteError):
        reasons = {reason.code for reason in exc.cancellation_reasons if reason is not None}
        return bool(reasons) and reasons <= _TRANSIENT_REASONS
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in TRANSIENT_CODES or int(status or 0) >= 500
    return False


def unavailable(fault: BaseException) -> StoreUnavailable:
    """The domain error for `fault`, logged once by type and code (no message text)."""
    code = fault.response.get("Error", {}).get("Code") if isinstance(fault, ClientError) else None
    log.warning("storage fault: %s %s", type(fault).__name__, code or "")
    return StoreUnavailable(_MESSAGE, retry_after=get_settings().store_retry_after_s)


@contextmanager
def translated() -> Iterator[None]:
    """Raise `StoreUnavailable` for a transient storage fault inside the block."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        fault = fault_of(exc)
        if fault is None:
            raise
        raise unavailable(fault) from exc


def translate_faults(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """`translated()` around every call of a store function."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with translated():
            return function(*args, **kwargs)

    return wrapper
