"""Counting the AWS API calls (DynamoDB and S3 round trips) a piece of work makes.

For the benchmark and the round-trip tests: botocore emits `before-call.<service>.<Operation>`
once per API call on every client, the ones `store.aws` makes and pynamodb's alike.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

_active: list[Counter[str]] = []
_lock = threading.Lock()


def _count_call(event_name: str, **kwargs: Any) -> None:
    _, service, operation = event_name.split(".", 2)
    with _lock:
        for calls in _active:
            calls[f"{service}.{operation}"] += 1


@contextmanager
def counting_calls() -> Iterator[Counter[str]]:
    """The AWS API calls made inside the block, as `service.Operation` -> count.

    The hook joins botocore's built-in handlers, which every session registers when it is
    made: it reaches clients made after the first use (pynamodb makes a session per connection
    and thread, `store.aws` after `reset_clients()`), so enter it once before they exist.
    """
    if ("before-call", _count_call) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append(("before-call", _count_call))
    calls: Counter[str] = Counter()
    with _lock:
        _active.append(calls)
    try:
        yield calls
    finally:
        with _lock:
            _active.remove(calls)
