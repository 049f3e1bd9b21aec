"""Lambda: hourly retention purge (EventBridge); stops in time and resumes on the next run."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from exif_service.observability import logger, metrics, tracer
from exif_service.services.retention import run_purge
from exif_service.settings import get_settings
from exif_service.store.bind import bind_models

bind_models(get_settings())

# stop taking new files when less than this is left of the invocation
_MARGIN_MS = 30_000


@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Soft-delete expired files and purge those soft-deleted longer than the grace period."""

    def should_stop() -> bool:
        remaining: int = context.get_remaining_time_in_millis()
        return remaining < _MARGIN_MS

    grace = timedelta(hours=get_settings().purge_grace_hours)
    result = run_purge(datetime.now(UTC), grace, should_stop)
    metrics.add_metric("FilesSoftDeleted", MetricUnit.Count, result.soft_deleted)
    metrics.add_metric("FilesPurged", MetricUnit.Count, result.purged)
    metrics.add_metric("PurgeIncomplete", MetricUnit.Count, 0 if result.complete else 1)
    logger.info("retention purge", extra=asdict(result))
    return asdict(result)
