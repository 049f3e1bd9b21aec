"""The daily usage counter: one item per subject and UTC day, raised by a conditional update.

The update only succeeds while the count is below the limit, so concurrent requests can never
take a subject past its limit: DynamoDB serialises the conditional writes on the item.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from exif_service.store.conditional import conditional_write
from exif_service.store.faults import translate_faults
from exif_service.store.models import UsageCounter

_KEEP = timedelta(days=35)


@translate_faults
def try_consume(subject: str, day: str, limit: int, units: int = 1) -> int | None:
    """Add `units` to the subject's count for `day` if it stays within `limit`.

    Returns the new count (the update's own answer, so no read), or None when refused.
    """
    if units <= 0:
        return used(subject, day)
    if units > limit:
        return None
    item = UsageCounter(subject=subject, day=day)
    condition = UsageCounter.used.does_not_exist() | (UsageCounter.used <= limit - units)
    expires = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC) + _KEEP
    # pynamodb's update asks for the updated item and loads it into `item`
    written = conditional_write(
        lambda: item.update(
            actions=[UsageCounter.used.add(units), UsageCounter.ttl.set(expires)],
            condition=condition,
        )
    )
    return int(item.used) if written else None


@translate_faults
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


@translate_faults
def used(subject: str, day: str) -> int:
    try:
        return int(UsageCounter.get(subject, day).used)
    except DoesNotExist:
        return 0


@translate_faults
def delete_before(day: str) -> int:
    """Remove counters of days before `day`; returns how many were removed."""
    removed = 0
    for item in UsageCounter.scan(UsageCounter.day < day):
        item.delete()
        removed += 1
    return removed


@translate_faults
def day_totals(day: str) -> tuple[int, int]:
    """How many subjects used the service on `day`, and how many images they processed."""
    subjects = images = 0
    for item in UsageCounter.scan(UsageCounter.day == day):
        if item.used > 0:
            subjects += 1
            images += int(item.used)
    return subjects, images
