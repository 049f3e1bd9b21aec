"""Cold start of the Lambda handlers, measured in fresh Python processes.

1. Import time of each handler module (what Lambda's init phase runs; handlers that use the
   engine start their ExifTool processes here).
2. Time to the first served request: import the v1 extract handler (new ExifTool processes)
   and answer one POST /api/v1/extract with an image, in an interpreter that has loaded
   nothing else (AWS is moto's server in a process of its own; its tables, a user and a key
   are made by another process first), so boto3 and pynamodb load inside the clock as they do
   on Lambda. Target: at most 0.6 s. Once more with no bytecode to read or write (an empty
   PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE): what a package without `__pycache__` costs on
   Lambda's read-only /var/task, where every module is compiled on every cold start (`make
   build` compiles them into the package). And once as packaged: the libraries installed here
   that functions/requirements.txt does not ship (awscrt, pyOpenSSL, blinker, ...: botocore and
   pynamodb use them when present) cannot be imported, as on Lambda, and botocore has only the
   service models `make build` keeps.
3. Peak memory of the extract function: the interpreter and its ExifTool processes (VmHWM),
   after the first request and three of `--large` (a file as large as a synchronous request
   carries on AWS).

    python -m bench.cold_start [--repeat 3] [--large FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import botocore
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.6  # issue 13: import + init + first request of the extract handler

_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "ExifServiceBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # as template.yaml configures the functions
    "EXIF_SERVICE_EXIFTOOL_POOL_SIZE": "1",
    "EXIF_SERVICE_MAX_REQUEST_BYTES": "4194304",
}

_PEAK_TREE = """
def _peak_tree():
    # peak resident memory (VmHWM) of this process and its children, in bytes; a thread or a
    # process that ends while this reads /proc is skipped
    from pathlib import Path

    def read(path):
        try:
            return path.read_text()
        except OSError:
            return ""

    pids, total = [str(__import__("os").getpid())], 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            pids += read(task / "children").split()
    for pid in pids:
        for line in read(Path(f"/proc/{pid}/status")).splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total
"""

_IMPORT = (
    _PEAK_TREE
    + """
import time
started = time.perf_counter()
import exif_service.handlers.__MODULE__
print(time.perf_counter() - started, _peak_tree())
"""
)

# the tables, a Pro user and a key, made by a process of their own before the clock starts
_SETUP = """
from exif_service.domain.accounts import Plan
from exif_service.local.emulator import prepare_store
from exif_service.settings import get_settings
from exif_service.store.accounts import create_api_key, upsert_user

prepare_store(get_settings())
account = upsert_user("bench@example.com", plan=Plan.PRO)
print(create_api_key(account.user_id, "bench")[0])
"""

# Libraries installed here but not in the Lambda package: importing them fails, as there.
_NOT_PACKAGED = """
import importlib.abc, sys


class NotPackaged(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in __HIDDEN__:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotPackaged())
"""

# A fresh interpreter as Lambda starts one: nothing of ours or AWS's loaded before the clock.
_FIRST_REQUEST = (
    _PEAK_TREE
    + """
import base64, json, sys, time

key, small, large = __KEY__, __SMALL__, __LARGE__
boundary = "benchboundary"


def event_for(path):
    data = open(path, "rb").read()
    body = (
        f"--{boundary}\\r\\nContent-Disposition: form-data; name=\\"file\\"; "
        'filename="bench.jpg"\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n'
    ).encode() + data + f"\\r\\n--{boundary}--\\r\\n".encode()
    return {
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


event = event_for(small)
if __PRELOAD__:
    import boto3, pynamodb.models  # as issue 13's baseline measured it: AWS libraries loaded
started, cpu_started = time.perf_counter(), time.process_time()
from exif_service.handlers.extract import handler
initialised = time.perf_counter()
response = handler(event, Context())
done, cpu = time.perf_counter(), time.process_time() - cpu_started
# then the largest file a synchronous request can carry on AWS, a few times: the peak memory
# of the function (this interpreter and its ExifTool processes)
if large:
    for _ in range(3):
        assert handler(event_for(large), Context())["statusCode"] == 200
sys.stdout.flush()
print(json.dumps({"status": response["statusCode"], "init": initialised - started,
                  "request": done - initialised, "cpu": cpu, "peak": _peak_tree()}),
      file=sys.stderr)
"""
)


def handler_modules() -> list[str]:
    """Every handler module (one per Lambda function), from the package directory."""
    directory = ROOT / "functions" / "exif_service" / "handlers"
    return sorted(p.stem for p in directory.glob("*.py") if p.stem not in {"__init__", "http"})


def _run(
    code: str, endpoint: str | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_ENV, **(env_extra or {})}
    env.pop("AWS_ENDPOINT_URL", None)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )


@contextmanager
def _moto_server() -> Iterator[str]:
    """moto's server on a free loopback port, in its own process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - moto's own console script
        [str(Path(sys.executable).with_name("moto_server")), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def import_time(module: str) -> tuple[float, int] | None:
    """Seconds to import one handler module in a fresh interpreter, and the peak memory (bytes)
    of it and the ExifTool processes it started (None if it fails)."""
    done = _run(_IMPORT.replace("__MODULE__", module))
    if done.returncode != 0:
        return None
    seconds, peak = done.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(peak)


def not_packaged() -> list[str]:
    """Top-level modules of the distributions installed here that functions/requirements.txt
    (the Lambda package's dependencies) does not list."""
    listed = ROOT / "functions" / "requirements.txt"
    shipped = {
        _canonical(re.split(r"[=<>~!;\[ ]", line.strip(), maxsplit=1)[0])
        for line in listed.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    return sorted(
        module
        for module, names in importlib.metadata.packages_distributions().items()
        if module not in _OURS_OR_LAYER and not any(_canonical(n) in shipped for n in names)
    )


# the package's own code, and the C2PA library the ExifTool layer ships (/opt/python)
_OURS_OR_LAYER = frozenset({"exif_service", "c2pa"})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _trimmed_botocore(folder: Path) -> Path:
    """A copy of botocore holding only the service models `make build` keeps in the package
    (LAMBDA_AWS_SERVICES in the Makefile), in `folder`, which goes first on the path."""
    found = re.search(r"^LAMBDA_AWS_SERVICES\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    kept = set(found.group(1).split()) if found else set()
    source = Path(botocore.__file__).parent
    dropped = {p.name for p in (source / "data").iterdir() if p.is_dir() and p.name not in kept}

    def ignore(directory: str, names: list[str]) -> set[str]:
        return dropped & set(names) if Path(directory) == source / "data" else set()

    shutil.copytree(source, folder / "botocore", ignore=ignore)
    return folder


def first_request(
    large: Path | None = None,
    preload: bool = False,
    bytecode: bool = True,
    packaged: bool = False,
) -> dict[str, float] | None:
    """Init and first-request seconds of the extract handler in a fresh interpreter, and the
    peak memory (bytes) of it and its ExifTool processes, after `large` too when given.
    `preload`: boto3 and pynamodb are imported before the clock starts. `bytecode=False`: no
    `.pyc` is read or written, every module is compiled from source (a read-only package
    without `__pycache__`). `packaged`: only the Lambda package's libraries can be imported,
    and botocore has only the service models the package keeps."""
    with _moto_server() as endpoint, tempfile.TemporaryDirectory() as folder:
        no_cache = Path(folder) / "no-pycache"
        no_cache.mkdir()
        compiling = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(no_cache)}
        small = Path(folder) / "small.jpg"
        Image.new("RGB", (640, 480), (120, 80, 40)).save(small, "JPEG")
        setup = _run(_SETUP, endpoint)
        if setup.returncode != 0:
            return None
        code = _FIRST_REQUEST.replace("__KEY__", repr(setup.stdout.strip().splitlines()[-1]))
        code = code.replace("__SMALL__", repr(str(small))).replace("__PRELOAD__", str(preload))
        code = code.replace("__LARGE__", repr(str(large) if large else ""))
        env: dict[str, str] = {} if bytecode else compiling
        if packaged:
            code = _NOT_PACKAGED.replace("__HIDDEN__", repr(set(not_packaged()))) + code
            trimmed = _trimmed_botocore(Path(folder) / "package")
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(trimmed), os.environ.get("PYTHONPATH", "")) if p
            )
        done = _run(code, endpoint, env)
    lines = [line for line in done.stderr.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return None
    result: dict[str, float] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    parser.add_argument("--large", type=Path, help="a file for the peak-memory requests")
    args = parser.parse_args(argv)
    summary = measure(args.repeat, args.large)
    return 0 if summary else 1


def measure(repeat: int, large: Path | None = None) -> dict[str, float] | None:
    """Print the import times and the extract cold start; return the medians (None: failed)."""
    args = argparse.Namespace(repeat=repeat, large=large)

    print(f"{'handler module':<16} {'import (s)':>10} {'peak MiB':>9}")
    for module in handler_modules():
        runs = [import_time(module) for _ in range(args.repeat)]
        ok = [r for r in runs if r is not None]
        if ok:
            seconds = statistics.median(r[0] for r in ok)
            print(f"{module:<16} {seconds:10.3f} {max(r[1] for r in ok) / 2**20:9.0f}")
        else:
            print(f"{module:<16} {'failed':>10}")

    served = [first_request(args.large) for _ in range(args.repeat)]
    firsts = [r for r in served if r is not None]
    print()
    if not firsts:
        print("first request: failed to run")
        return None
    init = statistics.median(r["init"] for r in firsts)
    request = statistics.median(r["request"] for r in firsts)
    peak = max(r["peak"] for r in firsts)
    total = init + request
    verdict = "met" if total <= TARGET_S else f"missed by {total - TARGET_S:.2f} s"
    # CPU: the interpreter's own time over import, init and request (ExifTool's perl and the
    # emulator not included); steadier than the wall clock on a shared machine
    print(
        f"{'extract cold start':<34} {'init (s)':>9} {'request (s)':>12} {'total (s)':>10} "
        f"{'CPU (s)':>8}"
    )
    _row("nothing loaded before (as Lambda)", firsts)
    _row(
        "boto3 + pynamodb loaded before",
        [r for r in (first_request(None, True) for _ in range(args.repeat)) if r],
        "(issue 13's baseline: 0.68 + 0.10)",
    )
    packaged = _row(
        "as packaged (requirements.txt only)",
        [r for r in (first_request(None, packaged=True) for _ in range(args.repeat)) if r],
        "(no awscrt, pyOpenSSL, blinker, ... as on Lambda)",
    )
    _row(
        "no .pyc (read-only, no bytecode)",
        [r for r in (first_request(None, bytecode=False) for _ in range(args.repeat)) if r],
        "(a package without __pycache__; make build compiles it)",
    )
    print(f"target {TARGET_S:.1f} s to first response: {verdict} ({os.cpu_count()} cores)")
    summary = {"init": init, "request": request, "total": total, "peak": peak}
    if packaged is not None:
        summary["packaged"] = packaged
        as_packaged = "met" if packaged <= TARGET_S else f"missed by {packaged - TARGET_S:.2f} s"
        print(f"  as packaged (the libraries Lambda has): {as_packaged}")
    sized = f", then 3 x {args.large.stat().st_size / 1e6:.1f} MB" if args.large else ""
    print(f"extract function peak memory (interpreter + ExifTool{sized}): {peak / 2**20:.0f} MiB")
    return summary


def _row(label: str, runs: list[dict[str, float]], note: str = "") -> float | None:
    """One line of the cold-start table: the medians of `runs`; their total (None: no run)."""
    if not runs:
        print(f"{label:<34} failed to run")
        return None
    init, request, cpu = (statistics.median(r[k] for r in runs) for k in ("init", "request", "cpu"))
    line = f"{label:<34} {init:9.3f} {request:12.3f} {init + request:10.3f} {cpu:8.3f}  {note}"
    print(line.rstrip())
    return init + request


if __name__ == "__main__":
    raise SystemExit(main())
