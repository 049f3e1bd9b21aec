"""Charging images against the daily plan limit, with a refund when the work fails.

The charge overlaps the work it pays for: see `Charge`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
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


class Charge:
    """A charge on its way to the store while the request's work runs.

    The counter's conditional update is sent from a small thread pool as the block starts, so
    the upload handling, the pre-scan and ExifTool do not wait for its round trip. Nothing the
    block does may be seen before the charge is known to hold: services call `confirm()` before
    their first visible write (a record, a file in S3), and `charge()` itself waits on exit and
    on any error, so an answer never leaves before the charge's.
    """

    def __init__(
        self, subject: str, day: str, limit: int, units: int, answer: Future[int | None] | None
    ) -> None:
        self.subject = subject
        self.day = day
        self.limit = limit
        self.units = units
        self._answer = answer
        self._settled = answer is None
        self._count: int | None = None
        self._failure: BaseException | None = None

    def confirm(self) -> None:
        """Wait for the store's answer; raise QuotaExceeded (or the store's fault) if refused.

        Idempotent: the answer is awaited once and every later call repeats its verdict.
        """
        self._settle()
        if self._failure is not None:
            raise self._failure

    def _settle(self) -> None:
        if self._settled:
            return
        assert self._answer is not None
        try:
            count = self._answer.result()
        except BaseException as exc:  # the store's fault, raised here in the request's thread
            self._failure = exc
        else:
            if count is None:
                _note_refusal(self.subject, self.day, self.limit, self.units)
                self._failure = QuotaExceeded(limit_message(self.limit), self.limit)
            else:
                self._count = count
                _note(self.limit, count)
        self._settled = True

    def _refund(self) -> None:
        """Return the units taken, after the work failed."""
        assert self._count is not None
        _give_back(self.subject, self.day, self.units)
        _note(self.limit, self._count - self.units)


# Work charged earlier (an S3 upload, granted and charged before the file arrived): nothing to
# wait for, and nothing to give back here.
PREPAID = Charge("", "", 0, 0, None)

_CHARGE_WORKERS = 16  # a charge holds a thread for one store round trip
_charges: ThreadPoolExecutor | None = None
_charges_lock = threading.Lock()


def _charge_pool() -> ThreadPoolExecutor:
    global _charges
    with _charges_lock:
        if _charges is None:
            _charges = ThreadPoolExecutor(_CHARGE_WORKERS, thread_name_prefix="charge")
        return _charges


@contextmanager
def charge(subject: str, limit: int, units: int = 1) -> Iterator[Charge]:
    """Take `units` from today's allowance for the block; give them back if it raises.

    The charge runs beside the block (see `Charge`). Whatever the block raised, a refused
    charge answers 429 and a store fault on the charge answers 503, as when the charge ran
    first; a charge that held is given back and the block's own error goes on.
    """
    day = usage_day()
    # the caller's context goes along, so the store's log lines keep the request's id
    context = copy_context()
    answer = _charge_pool().submit(context.run, usage.try_consume, subject, day, limit, units)
    pending = Charge(subject, day, limit, units, answer)
    try:
        yield pending
    except BaseException as exc:
        pending._settle()
        if pending._failure is None:
            # the work's own error is what the caller hears about; a lost refund is only logged
            pending._refund()
            raise
        if pending._failure is exc:
            raise
        raise pending._failure from exc
    pending.confirm()


@contextmanager
def charge_account(account: Account, units: int = 1) -> Iterator[Charge]:
    """Charge a user's plan allowance (shared by web, API and every surface)."""
    with charge(user_subject(account), plan_limits().for_plan(account.plan), units) as pending:
        yield pending


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
