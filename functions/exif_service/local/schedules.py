"""The local server's stand-in for EventBridge and S3 events: the usage job at 00:00 UTC, the
purge hourly, and processing of presigned uploads every few seconds.

The same job functions run from `exif-service jobs ...` and from the Lambda handlers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from exif_service.services.retention import run_purge
from exif_service.services.runtime import engine_pool, file_store
from exif_service.services.uploads import process_pending_uploads
from exif_service.services.usage_reset import run_usage_reset
from exif_service.settings import get_settings

log = logging.getLogger(__name__)

_MAX_SLEEP_S = 60.0  # wake at least this often, so a changed wall clock is noticed
_UPLOAD_POLL_S = 2.0


def usage_reset_job(now: datetime) -> dict[str, Any]:
    """Report the day that ended and remove counters of past days."""

    return asdict(run_usage_reset(now))


def purge_job(now: datetime) -> dict[str, Any]:
    """Soft-delete expired files and purge those past the grace period."""

    return asdict(run_purge(now, timedelta(hours=get_settings().purge_grace_hours)))


def uploads_job(now: datetime) -> dict[str, Any]:
    """Process files uploaded to `uploads/` (on AWS the S3 event does this)."""

    processed = process_pending_uploads(engine_pool(), file_store(), get_settings())
    return {"processed": processed}


def next_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC strictly after `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def next_hour(now: datetime) -> datetime:
    """The next full hour strictly after `now`."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour + timedelta(hours=1)


def soon(now: datetime) -> datetime:
    """A few seconds from now (polling for uploads)."""
    return now + timedelta(seconds=_UPLOAD_POLL_S)


@dataclass(frozen=True)
class Schedule:
    name: str
    next_after: Callable[[datetime], datetime]
    run: Callable[[datetime], object]


SCHEDULES = (
    Schedule("usage-reset", next_midnight, usage_reset_job),
    Schedule("purge", next_hour, purge_job),
    Schedule("uploads", soon, uploads_job),
)


class LocalScheduler:
    """Runs each schedule's job when its time comes, on one background thread."""

    def __init__(
        self,
        schedules: tuple[Schedule, ...] = SCHEDULES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._schedules = schedules
        self._clock = clock
        start = clock()
        self._due = {s.name: s.next_after(start) for s in schedules}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def due_times(self) -> dict[str, datetime]:
        return dict(self._due)

    def run_due(self, now: datetime) -> list[str]:
        """Run every job whose time has come (a failing job is logged, not fatal)."""
        ran: list[str] = []
        for schedule in self._schedules:
            if self._due[schedule.name] > now:
                continue
            try:
                schedule.run(now)
            except Exception:
                log.exception("scheduled job %s failed", schedule.name)
            self._due[schedule.name] = schedule.next_after(now)
            ran.append(schedule.name)
        return ran

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="schedules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            wait = (min(self._due.values()) - self._clock()).total_seconds()
            if self._stopping.wait(min(max(wait, 0.0), _MAX_SLEEP_S)):
                return
            self.run_due(self._clock())
