"""The running server for end-to-end tests.

With `EXIF_SERVICE_E2E_URL` set the tests target that server (a deployed stack, or a `make run`
started by hand) and admin commands use the caller's environment. Otherwise one
`exif-service serve` is started per test worker on a free port, with its own data directory,
and stopped at the end. Browser tests get Debian's headless Chromium through Playwright, one
browser per test module and a fresh profile per test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

_BIN = Path(sys.executable).parent
_START_DEADLINE_S = 120.0


@dataclass(frozen=True)
class Server:
    """A running exif-service: its base URL and how to run admin commands against it."""

    url: str
    env: dict[str, str]

    def admin(self, *args: str) -> str:
        """Run `exif-service admin ARGS` against this server's data; return its output."""
        result = subprocess.run(
            [str(_BIN / "exif-service"), "admin", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EXIF_SERVICE_"))}
    env["EXIF_SERVICE_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exif-service serve exited:\n{log.read_text()[-4000:]}")
        try:
            httpx.get(f"{url}/openapi.json", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"exif-service serve did not start:\n{log.read_text()[-4000:]}")


@contextmanager
def start_server(workdir: Path, **settings: str) -> Iterator[Server]:
    """`exif-service serve` on a free port with its data in `workdir`, until the block ends.

    `settings` are extra EXIF_SERVICE_* variables, e.g. `DOWNLOAD_REDIRECTS="true"`.
    """
    env = _server_env(workdir / ".exif-service")
    env.update({f"EXIF_SERVICE_{name}": value for name, value in settings.items()})
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(_BIN / "exif-service"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, proc, log)
        yield Server(url=url, env=env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server under test (started here unless EXIF_SERVICE_E2E_URL names one)."""
    external = os.environ.get("EXIF_SERVICE_E2E_URL")
    if external:
        yield Server(url=external.rstrip("/"), env=dict(os.environ))
        return
    with start_server(tmp_path_factory.mktemp("e2e-server")) as running:
        yield running


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright.

    Module-scoped: Playwright's sync API keeps an asyncio loop running in this thread, which
    would break in-process Lambda invocations (Mangum runs its own loop) in later modules.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh browser profile (no cookies) with its base URL set to the server.

    A script error or a Content-Security-Policy violation on any page fails the test.
    """
    context = browser.new_context(base_url=server.url, accept_downloads=True)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    tab.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        yield tab
    finally:
        context.close()
    assert not problems, problems
