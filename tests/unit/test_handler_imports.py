"""Each Lambda imports only what it serves: a handler module loaded in a fresh interpreter, as
Lambda's init phase loads it, leaves none of the modules it has no use for in `sys.modules`.

What a module costs at import is paid by every cold start of the function (bench/cold_start.py
shows the times): the X-Ray SDK alone is about a third of a second, boto3 with s3transfer a tenth
or more, qpdf's bindings, Jinja2, Stripe and httpx less, and the extract function needs none
of them to start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[2] / "functions" / "exif_service" / "handlers"

XRAY = ("aws_xray_sdk",)
PAGES = ("jinja2", "exif_service.web")
STRIPE = ("stripe", "exif_service.services.billing")
# loaded where first used: S3 clients and SSM parameters (boto3), a PDF to rewrite (qpdf), a
# URL to download (httpx, with rich for its command line where that is installed)
LAZY = ("boto3", "s3transfer", "pikepdf")
URLS = ("httpx", "httpcore", "rich")
EVERYWHERE = XRAY + LAZY

# handler module -> module name prefixes it must not load (with tracing off)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "extract": EVERYWHERE + PAGES + STRIPE + URLS,
    "remove": EVERYWHERE + PAGES + STRIPE + URLS,
    "download": EVERYWHERE + PAGES + STRIPE + URLS,
    "uploads": EVERYWHERE + PAGES + STRIPE + URLS,
    "imagekit": EVERYWHERE + PAGES + STRIPE + URLS,
    # its webhooks are sent with httpx
    "s3_processor": EVERYWHERE + PAGES + STRIPE,
    "feedback": EVERYWHERE + PAGES + STRIPE + URLS,
    "usage_job": EVERYWHERE + PAGES + STRIPE + URLS,
    "purge_job": EVERYWHERE + PAGES + STRIPE + URLS,
    # the images API's history and admin tables are HTML fragments: Jinja2 loads when one is
    # drawn, not at init
    "images": EVERYWHERE + PAGES + STRIPE + URLS,
    "admin": EVERYWHERE + PAGES + STRIPE + URLS,
    "keys": EVERYWHERE + PAGES + STRIPE + URLS,
    "billing": EVERYWHERE + PAGES,  # Stripe's SDK brings httpx
    "web": EVERYWHERE + STRIPE + URLS,
}

_PROBE = """
import json, sys
import exif_service.handlers.{module}
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(module: str, **env: str) -> list[str]:
    """The modules a fresh interpreter holds after importing one handler module."""
    modules: list[str] = json.loads(_probe(_PROBE.format(module=module), **env))
    return modules


def _probe(code: str, **env: str) -> str:
    """The last line `code` prints in a fresh interpreter with fake AWS credentials."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    clean.pop("LAMBDA_TASK_ROOT", None)
    clean.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **env,
        }
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def _matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_every_handler_module_is_listed() -> None:
    found = {p.stem for p in HANDLERS.glob("*.py")} - {"__init__", "http"}
    assert found == set(FORBIDDEN)


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_handler_loads_none_of_the_modules_it_has_no_use_for(module: str) -> None:
    assert _matching(_loaded(module), FORBIDDEN[module]) == []


def test_tracing_on_in_lambda_loads_the_xray_sdk_and_turned_off_does_not() -> None:
    on = _loaded("purge_job", LAMBDA_TASK_ROOT="/var/task")
    assert _matching(on, XRAY)
    off = _loaded("purge_job", LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true")
    assert _matching(off, XRAY) == []


_TRACED = """
import json, sys
import exif_service.handlers.extract
import botocore.client, botocore.httpsession
seen = {
    "loaded at init": sorted(m for m in ("httpx", "requests", "sqlite3") if m in sys.modules),
    "botocore": type(botocore.client.BaseClient._make_api_call).__name__,
    "pynamodb": getattr(botocore.httpsession, "_xray_enabled", False),
}
import httpx
seen["httpx"] = httpx.Client.__name__
print(json.dumps(seen))
"""


def test_tracing_on_instruments_the_store_at_init_and_httpx_when_it_is_first_imported() -> None:
    """What X-Ray's patch_all() instruments, without importing httpx, requests and sqlite3
    into the extract function's cold start: the store calls are traced from the start, a URL
    download from the moment httpx loads."""
    seen = json.loads(_probe(_TRACED, LAMBDA_TASK_ROOT="/var/task"))
    assert seen["loaded at init"] == []
    assert seen["botocore"] == "BoundFunctionWrapper"
    assert seen["pynamodb"] is True
    assert seen["httpx"] == "_InstrumentedClient"
