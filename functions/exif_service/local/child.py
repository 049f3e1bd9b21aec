"""The embedded AWS emulator as a child process of `exif-service serve` (`EmulatorProcess`).

Run as `python -m exif_service.local.child PARENT_PID`. It starts `LocalAws` (moto's server,
the item-write atomicity patch, the local data and its journal), prints
`{"endpoint": ..., "pid": ...}` on one stdout line, and runs until one of:
- its stdin reaches end of file: the parent closed the pipe, or died (even by kill -9), which
  closes it too;
- SIGTERM: sent by an operator, or by the kernel when the parent dies (PR_SET_PDEATHSIG, Linux);
- its parent process is gone (polled once a second: the fallback for every other case).
It then folds its journal into a snapshot and exits, so it never outlives the server.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1
_POLL_S = 1.0


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no libc prctl: the pipe and the poll still stop us
        return


def _watch_stdin(stop: threading.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader holds its lock,
    # and the interpreter aborts when it finds that lock taken at exit
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parent = int(args[0]) if args else os.getppid()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), stream=sys.stderr)
    stop = threading.Event()
    # Ctrl-C reaches the whole process group: the server stops this process once its own
    # requests are done, so the emulator must outlive the server's graceful shutdown
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel was asked to tell us
        return 0
    threading.Thread(target=_watch_stdin, args=(stop,), name="parent-pipe", daemon=True).start()

    from exif_service.local.emulator import LocalAws

    emulator = LocalAws()
    emulator.start()
    try:
        sys.stdout.write(json.dumps({"endpoint": emulator.endpoint, "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        while not stop.wait(_POLL_S):
            if os.getppid() != parent:
                break
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
