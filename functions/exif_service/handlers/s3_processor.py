"""Lambda: S3 ObjectCreated under uploads/ -> run the engine, record the job, call back.

The ExifTool pool starts in the init phase, as for the HTTP functions. A storage fault leaves
its job `processing` and fails the invocation after the other records are done, so Lambda's
retry of the event (and then its failure destination) finishes it; records already done are
skipped on the retry.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote_plus

from exif_service.engine.exiftool import launch_pool

# perl loads ExifTool on the other core while the imports below run (hence E402)
launch_pool()

from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: E402
from aws_lambda_powertools.utilities.data_classes import S3Event  # noqa: E402

from exif_service.api.v1.schemas import present_job  # noqa: E402
from exif_service.domain.errors import StoreUnavailable  # noqa: E402
from exif_service.observability import logger, metrics, tracer  # noqa: E402
from exif_service.services.callbacks import deliver  # noqa: E402
from exif_service.services.runtime import engine_pool, file_store  # noqa: E402
from exif_service.services.uploads import process_upload  # noqa: E402
from exif_service.settings import get_settings  # noqa: E402
from exif_service.store.bind import bind_models  # noqa: E402

bind_models(get_settings())
engine_pool().warm()


@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Process every uploaded object in the event; repeated events change nothing."""

    settings = get_settings()
    blobs = file_store()
    processed = skipped = 0
    fault: StoreUnavailable | None = None
    for record in S3Event(event).records:
        key = unquote_plus(record.s3.get_object.key)
        if record.s3.bucket.name != settings.bucket:
            skipped += 1
            continue
        started = time.perf_counter()
        try:
            job = process_upload(engine_pool(), key, blobs, settings)
        except StoreUnavailable as exc:
            logger.warning("storage fault; the upload is left for the retry")
            metrics.add_metric("UploadsDeferred", MetricUnit.Count, 1)
            fault = fault or exc
            continue
        if job is None:
            skipped += 1
            continue
        processed += 1
        logger.set_correlation_id(job.uuid)
        logger.info("upload processed", extra={"status": job.status.value})
        with single_metric(
            name="FilesProcessed" if job.error is None else "FilesRejected",
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics.namespace,
        ) as metric:
            metric.add_dimension("surface", "v1")
            metric.add_dimension("operation", f"upload {job.operation.value}")
        metrics.add_metric(
            "EngineLatency", MetricUnit.Milliseconds, round((time.perf_counter() - started) * 1000)
        )
        if job.callback_url:
            base = (settings.public_base_url or "").rstrip("/")
            payload = present_job(
                job, lookup=True, download_url=f"{base}/download-cleaned/{job.uuid}"
            )
            delivered = deliver(job.callback_url, payload, settings)
            metrics.add_metric("CallbacksFailed", MetricUnit.Count, 0 if delivered else 1)
    metrics.add_metric("UploadEventsSkipped", MetricUnit.Count, skipped)
    if fault is not None:
        raise fault
    return {"processed": processed, "skipped": skipped}
