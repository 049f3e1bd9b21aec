"""Start `exif-service serve` as a real process on a free port, for tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLI = Path(sys.executable).with_name("exif-service")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a local server or CLI call keeping its data in `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EXIF_SERVICE_"))}
    env.update({"EXIF_SERVICE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra})
    return env


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def _ready(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/api/v1/extract/ping", timeout=2)  # noqa: S310 - loopback
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except OSError:
        return False
    return True


@contextmanager
def serve(data_dir: Path, log: Path, **env: str) -> Iterator[Served]:
    """Run the local server until the block ends (SIGTERM, as a service manager stops it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=cli_env(data_dir, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Served(url, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_cli(*args: str, data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), *args],
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
