"""Lambda: daily at 00:00 UTC (EventBridge), remove past days' usage counters, report usage.

The quota never depends on this job: counters are keyed by UTC day, so a missed run only
leaves old items behind (their TTL removes them anyway).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from exif_service.observability import logger, metrics, tracer
from exif_service.services.usage_reset import run_usage_reset
from exif_service.settings import get_settings
from exif_service.store.bind import bind_models

bind_models(get_settings())


@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the usage reset for the day that has just ended."""

    report = run_usage_reset(datetime.now(UTC))
    metrics.add_dimension("surface", "all")
    metrics.add_metric("DailyImagesProcessed", MetricUnit.Count, report.images)
    metrics.add_metric("DailyActiveSubjects", MetricUnit.Count, report.subjects)
    metrics.add_metric("UsageCountersRemoved", MetricUnit.Count, report.removed)
    logger.info("usage reset", extra=asdict(report))
    return asdict(report)
