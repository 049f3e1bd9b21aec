"""The daily usage job: report the day that ended and remove counters of past days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from exif_service.domain.plans import usage_day
from exif_service.store import usage


@dataclass(frozen=True)
class UsageReport:
    day: str  # the UTC day reported on (the one before `now`)
    subjects: int  # users and client IPs that processed at least one image
    images: int
    removed: int  # counters of past days deleted


def run_usage_reset(now: datetime) -> UsageReport:
    """Sum yesterday's counters, then delete every counter before today (idempotent)."""
    yesterday = usage_day(now - timedelta(days=1))
    subjects, images = usage.day_totals(yesterday)
    removed = usage.delete_before(usage_day(now))
    return UsageReport(day=yesterday, subjects=subjects, images=images, removed=removed)
