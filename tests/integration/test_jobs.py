"""The scheduled jobs: usage reset and retention purge, through their EventBridge events, the
`exif-service jobs` command and the local server's scheduler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import load_event
from tests.support.lambdas import LambdaContext

from exif_service.cli import main
from exif_service.domain.plans import usage_day
from exif_service.domain.retention import StoredFile
from exif_service.local.schedules import LocalScheduler, Schedule, next_hour, next_midnight
from exif_service.settings import Settings
from exif_service.store import files, usage


@dataclass(frozen=True)
class _TimedContext(LambdaContext):
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _count(subject: str, day: str, units: int) -> None:
    assert usage.try_consume(subject, day, limit=1000, units=units)


def _stored_file(file_id: str, created: datetime) -> StoredFile:
    return StoredFile(
        file_id=file_id,
        user_id="user-1",
        tool="strip",
        file_name="a.jpg",
        s3_key=f"results/{file_id}/clean.jpg",
        content_type="image/jpeg",
        size=10,
        created_at=created,
        download_expires_at=created + timedelta(hours=24),
    )


def test_usage_job_reports_yesterday_and_removes_past_counters_but_not_today(
    aws: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from exif_service.handlers.usage_job import handler

    now = datetime.now(UTC)
    today, yesterday = usage_day(now), usage_day(now - timedelta(days=1))
    _count("user#a", yesterday, 3)
    _count("ip#203.0.113.9", yesterday, 1)
    _count("user#a", usage_day(now - timedelta(days=3)), 2)
    _count("user#a", today, 2)

    report = handler(load_event("schedule_usage.json"), LambdaContext())

    assert report == {"day": yesterday, "subjects": 2, "images": 4, "removed": 3}
    assert usage.used("user#a", today) == 2
    assert usage.used("user#a", yesterday) == 0
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    daily = [blob for blob in emf if "DailyImagesProcessed" in blob]
    assert daily and daily[0]["DailyImagesProcessed"] == [4.0]


def test_purge_job_soft_deletes_files_past_their_download_window(aws: Settings) -> None:
    from exif_service.handlers.purge_job import handler

    now = datetime.now(UTC)
    files.save_file(_stored_file("old", now - timedelta(hours=30)))
    files.save_file(_stored_file("fresh", now - timedelta(hours=1)))

    result = handler(load_event("schedule_purge.json"), _TimedContext())

    assert result["complete"] is True
    assert result["soft_deleted"] == 1
    old, fresh = files.get_file("old"), files.get_file("fresh")
    assert old is not None and old.deleted
    assert fresh is not None and not fresh.deleted


def test_purge_job_stops_before_the_lambda_times_out_and_leaves_the_rest_for_later(
    aws: Settings,
) -> None:
    from exif_service.handlers.purge_job import handler

    now = datetime.now(UTC)
    files.save_file(_stored_file("old", now - timedelta(hours=30)))

    result = handler(load_event("schedule_purge.json"), _TimedContext(remaining_ms=5_000))

    assert result["complete"] is False
    old = files.get_file("old")
    assert old is not None and not old.deleted


def test_jobs_command_runs_the_usage_reset_against_the_configured_store(
    aws: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "test")  # use the configured store (moto here)
    yesterday = usage_day(datetime.now(UTC) - timedelta(days=1))
    _count("user#b", yesterday, 5)

    assert main(["jobs", "usage-reset"]) == 0

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["job"] == "usage-reset"
    assert printed["result"]["images"] == 5
    assert usage.used("user#b", yesterday) == 0


def test_jobs_command_runs_the_purge(
    aws: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "test")
    files.save_file(_stored_file("old", datetime.now(UTC) - timedelta(hours=30)))

    assert main(["jobs", "purge"]) == 0

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["result"]["soft_deleted"] == 1


def test_schedule_times_are_midnight_utc_and_the_top_of_each_hour() -> None:
    now = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC)
    assert next_midnight(now) == datetime(2026, 11, 24, tzinfo=UTC)
    assert next_hour(now) == datetime(2026, 11, 24, tzinfo=UTC)
    assert next_hour(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 8, tzinfo=UTC
    )


def test_local_scheduler_runs_each_job_when_due_and_survives_a_failing_job() -> None:
    ran: list[tuple[str, datetime]] = []

    def record(name: str) -> Any:
        def run(now: datetime) -> None:
            ran.append((name, now))
            if name == "purge":
                raise RuntimeError("a failing job is logged, not fatal")

        return run

    start = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    scheduler = LocalScheduler(
        (
            Schedule("usage-reset", next_midnight, record("usage-reset")),
            Schedule("purge", next_hour, record("purge")),
        ),
        clock=lambda: start,
    )

    assert scheduler.run_due(start + timedelta(minutes=10)) == []
    assert scheduler.run_due(datetime(2026, 11, 23, 23, 0, tzinfo=UTC)) == ["purge"]
    assert scheduler.run_due(datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)) == [
        "usage-reset",
        "purge",
    ]
    assert scheduler.due_times() == {
        "usage-reset": datetime(2026, 11, 25, tzinfo=UTC),
        "purge": datetime(2026, 11, 24, 1, tzinfo=UTC),
    }
    assert [name for name, _ in ran] == ["purge", "usage-reset", "purge"]


def test_local_scheduler_thread_stops_when_asked() -> None:
    scheduler = LocalScheduler((Schedule("never", next_midnight, lambda now: None),))
    scheduler.start()
    scheduler.stop()
    assert scheduler._thread is not None and not scheduler._thread.is_alive()
