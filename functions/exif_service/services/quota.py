"""Charging images against the daily plan limit, with a refund when the work fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from exif_service.domain.accounts import Account
from exif_service.domain.errors import QuotaExceeded, StoreUnavailable
from exif_service.domain.plans import Limits, limit_message, usage_day
from exif_service.domain.ratelimit import Allowance
from exif_service.settings import get_settings
from exif_service.store import usage

log = logging.getLogger(__name__)


def plan_limits() -> Limits:
    settings = get_settings()
    return Limits(free=settings.free_daily_limit, pro=settings.pro_daily_limit)


def user_subject(account: Account) -> str:
    return f"user#{account.user_id}"


def ip_subject(ip: str) -> str:
    return f"ip#{ip}"


@contextmanager
def charge(subject: str, limit: int, units: int = 1) -> Iterator[None]:
    """Take `units` from today's allowance for the block; give them back if it raises."""
    day = usage_day()
    count = usage.try_consume(subject, day, limit, units)
    if count is None:
        _note_refusal(subject, day, limit, units)
        raise QuotaExceeded(limit_message(limit), limit)
    _note(limit, count)
    try:
        yield
    except BaseException:
        # the work's own error is what the caller hears about; a lost refund is only logged
        _give_back(subject, day, units)
        _note(limit, count - units)
        raise


@contextmanager
def charge_account(account: Account, units: int = 1) -> Iterator[None]:
    """Charge a user's plan allowance (shared by web, API and every surface)."""
    with charge(user_subject(account), plan_limits().for_plan(account.plan), units):
        yield


def used_today(account: Account) -> int:
    return usage.used(user_subject(account), usage_day())


def refund_user(user_id: str, charged_at: datetime, units: int = 1) -> None:
    """Give back units charged at `charged_at` for work that failed later (S3 uploads)."""
    _give_back(f"user#{user_id}", usage_day(charged_at), units)
    meter = _meter.get()
    if meter is not None and meter.last is not None:  # a batch refunding its failed inputs
        _note(meter.last.limit, max(meter.last.used - units, 0))


def _give_back(subject: str, day: str, units: int) -> None:
    """Return units, trying again while the store is unavailable; log them if it stays so.

    The work failed, often for the same storage fault, so the refund backs off a little longer
    than the client's own retries before giving up.
    """
    settings = get_settings()
    deadline = time.monotonic() + settings.refund_budget_s
    for attempt in range(settings.refund_retries + 1):
        try:
            usage.give_back(subject, day, units)
            return
        except StoreUnavailable:
            pause = 0.2 * 2**attempt
            if attempt == settings.refund_retries or time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
    log.error(
        "could not refund %d unit(s) to %s for %s: the store stayed unavailable",
        units,
        subject,
        day,
        extra={"refund_lost": {"subject": subject, "day": day, "units": units}},
    )


class AllowanceMeter:
    """What the charges of one request left of the allowance, for the edge's rate-limit headers."""

    def __init__(self) -> None:
        self.last: Allowance | None = None


# A mutable meter in a context variable: the routes run in worker threads on a copy of the
# request's context, and the copy still points at the same meter.
_meter: ContextVar[AllowanceMeter | None] = ContextVar("allowance_meter", default=None)


@contextmanager
def metered() -> Iterator[AllowanceMeter]:
    """Record, for the block, the allowance each charge leaves (no store call of its own)."""
    meter = AllowanceMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def _note(limit: int, used: int) -> None:
    meter = _meter.get()
    if meter is not None:
        meter.last = Allowance(limit=limit, used=used)


def _note_refusal(subject: str, day: str, limit: int, units: int) -> None:
    # one refused unit means the day is used up; a refused batch may have left a few, which
    # only a read can tell (this rare answer is the one place that pays for it)
    if _meter.get() is not None:
        _note(limit, limit if units == 1 else usage.used(subject, day))
