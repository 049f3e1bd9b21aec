"""Cold start of the Lambda handlers, measured in fresh Python processes.

1. Import time of each handler module (what Lambda's init phase runs; handlers that use the
   engine start their ExifTool processes here).
2. Time to the first served request: import the v1 extract handler (new ExifTool processes)
   and answer one POST /api/v1/extract with an image, under moto. The moto set-up before the
   clock starts loads boto3 and pynamodb, which a real cold start would also load, so the
   figure is a little lower than on Lambda. Target: under 1.0 s.

    python -m bench.cold_start [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0

_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "ExifServiceBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}

_IMPORT = """
import time
started = time.perf_counter()
import exif_service.handlers.{module}
print(time.perf_counter() - started)
"""

_FIRST_REQUEST = """
import base64, io, json, sys, time
from moto import mock_aws
from PIL import Image

with mock_aws():
    from exif_service.domain.accounts import Plan
    from exif_service.local.emulator import prepare_store
    from exif_service.settings import get_settings
    from exif_service.store.accounts import create_api_key, upsert_user

    prepare_store(get_settings())
    account = upsert_user("bench@example.com", plan=Plan.PRO)
    key, _ = create_api_key(account.user_id, "bench")
    image = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 80, 40)).save(image, "JPEG")
    boundary = "benchboundary"
    body = (
        f"--{boundary}\\r\\nContent-Disposition: form-data; name=\\"file\\"; "
        'filename="bench.jpg"\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n'
    ).encode() + image.getvalue() + f"\\r\\n--{boundary}--\\r\\n".encode()
    event = {
        "version": "2.0", "routeKey": "POST /api/v1/extract", "rawPath": "/api/v1/extract",
        "rawQueryString": "",
        "headers": {"content-type": f"multipart/form-data; boundary={boundary}",
                    "x-api-key": key, "host": "bench.example.com"},
        "requestContext": {"http": {"method": "POST", "path": "/api/v1/extract",
                                    "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1"},
                           "requestId": "bench", "routeKey": "POST /api/v1/extract",
                           "stage": "$default"},
        "isBase64Encoded": True, "body": base64.b64encode(body).decode(),
    }

    class Context:
        function_name = "bench"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        aws_request_id = "bench"

    started = time.perf_counter()
    from exif_service.handlers.extract import handler
    initialised = time.perf_counter()
    response = handler(event, Context())
    done = time.perf_counter()
    sys.stdout.flush()
    print(json.dumps({"status": response["statusCode"], "init": initialised - started,
                      "request": done - initialised}), file=sys.stderr)
"""


def handler_modules() -> list[str]:
    """Every handler module (one per Lambda function), from the package directory."""
    directory = ROOT / "functions" / "exif_service" / "handlers"
    return sorted(p.stem for p in directory.glob("*.py") if p.stem not in {"__init__", "http"})


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_ENV}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )


def import_time(module: str) -> float | None:
    """Seconds to import one handler module in a fresh interpreter (None if it fails)."""
    done = _run(_IMPORT.format(module=module))
    if done.returncode != 0:
        return None
    return float(done.stdout.strip().splitlines()[-1])


def first_request() -> dict[str, float] | None:
    """Init and first-request seconds of the extract handler in a fresh interpreter."""
    done = _run(_FIRST_REQUEST)
    lines = [line for line in done.stderr.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return None
    result: dict[str, float] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    args = parser.parse_args(argv)

    print(f"{'handler module':<16} {'import (s)':>10}")
    for module in handler_modules():
        runs = [import_time(module) for _ in range(args.repeat)]
        ok = [r for r in runs if r is not None]
        shown = f"{statistics.median(ok):10.3f}" if ok else f"{'failed':>10}"
        print(f"{module:<16} {shown}")

    runs = [r for r in (first_request() for _ in range(args.repeat)) if r is not None]
    print()
    if not runs:
        print("first request: failed to run")
        return 1
    init = statistics.median(r["init"] for r in runs)
    request = statistics.median(r["request"] for r in runs)
    total = init + request
    verdict = "within" if total < TARGET_S else "over"
    print(f"{'extract cold start':<22} {'init (s)':>9} {'request (s)':>12} {'total (s)':>10}")
    print(f"{'new ExifTool process':<22} {init:9.3f} {request:12.3f} {total:10.3f}")
    print(f"target {TARGET_S:.1f} s to first response: {verdict} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
