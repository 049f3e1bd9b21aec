"""The daily usage counter: one item per subject and UTC day, raised by a conditional update.

The update only succeeds while the count is below the limit, so concurrent requests can never
take a subject past its limit: DynamoDB serialises the conditional writes on the item.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from exif_service.store.conditional import conditional_write
from exif_service.store.models import UsageCounter

_KEEP = timedelta(days=35)


def try_consume(subject: str, day: str, limit: int, units: int = 1) -> bool:
    """Add `units` to the subject's count for `day` if it stays within `limit`."""
    if units <= 0:
        return True
    if units > limit:
        return False
    item = UsageCounter(subject=subject, day=day)
    condition = UsageCounter.used.does_not_exist() | (UsageCounter.used <= limit - units)
    expires = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC) + _KEEP
    return conditional_write(
        lambda: item.update(
            actions=[UsageCounter.used.add(units), UsageCounter.ttl.set(expires)],
            condition=condition,
        )
    )


def give_back(subject: str, day: str, units: int = 1) -> None:
    """Return units taken for work that then failed."""
    if units <= 0:
        return
    item = UsageCounter(subject=subject, day=day)
    # never below zero: a count that is already lower is left as it is
    conditional_write(
        lambda: item.update(
            actions=[UsageCounter.used.add(-units)], condition=UsageCounter.used >= units
        )
    )


def used(subject: str, day: str) -> int:
    try:
        return int(UsageCounter.get(subject, day).used)
    except DoesNotExist:
        return 0


def delete_before(day: str) -> int:
    """Remove counters of days before `day`; returns how many were removed."""
    removed = 0
    for item in UsageCounter.scan(UsageCounter.day < day):
        item.delete()
        removed += 1
    return removed


def day_totals(day: str) -> tuple[int, int]:
    """How many subjects used the service on `day`, and how many images they processed."""
    subjects = images = 0
    for item in UsageCounter.scan(UsageCounter.day == day):
        if item.used > 0:
            subjects += 1
            images += int(item.used)
    return subjects, images
