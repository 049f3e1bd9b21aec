"""Charging images against the daily plan limit, with a refund when the work fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from exif_service.domain.accounts import Account
from exif_service.domain.errors import QuotaExceeded
from exif_service.domain.plans import Limits, limit_message, usage_day
from exif_service.settings import get_settings
from exif_service.store import usage


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
    if not usage.try_consume(subject, day, limit, units):
        raise QuotaExceeded(limit_message(limit), limit)
    try:
        yield
    except BaseException:
        usage.give_back(subject, day, units)
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
    usage.give_back(f"user#{user_id}", usage_day(charged_at), units)
