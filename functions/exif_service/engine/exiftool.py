"""A small pool of persistent `exiftool -stay_open` processes.

Why not pyexiftool: its `execute()` blocks on the pipe with no deadline, and a hung ExifTool
must be killed and replaced without taking the request thread with it. This driver reads both
pipes through a selector with a deadline, kills and replaces a process that hangs or dies, and
checks every argument stays on its own line (see domain/tags.py).
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import logging
import os
import queue
import re
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from exif_service.domain.errors import EngineFailure, FileTooComplex, ServiceUnavailable
from exif_service.domain.tags import check_argument
from exif_service.settings import get_settings

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Versions before this floor read DjVu and file names unsafely (CVE-2021-22204, CVE-2022-23935)
# and miss later parser fixes.
CVE_NOTE = "CVE-2021-22204, CVE-2022-23935 and later parser fixes"


@dataclass(frozen=True)
class ExifToolResult:
    stdout: str
    stderr: str


class EngineTimeout(FileTooComplex):
    """ExifTool spent the whole deadline on one file. The worker is replaced and the caller told
    that their file is the problem (a 422, uncharged), not handed a 500: what holds a worker
    that long is a file shaped to be slow to parse that engine/prescan.py does not know yet."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to kill the worker when the server process dies, so none is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Spawner:
    """Starts every worker from one long-lived thread.

    Linux delivers PR_SET_PDEATHSIG when the *thread* that forked the child exits, not the
    process. Request threads come and go (anyio retires idle workers after a few seconds), so a
    worker started from one would be killed soon after; this thread lives as long as the server.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, start: Callable[[], _T]) -> _T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="exiftool-spawner", daemon=True
                )
                self._thread.start()
        done: Future[_T] = Future()
        self._jobs.put((done, start))
        return done.result()

    def _loop(self) -> None:
        while True:
            done, start = self._jobs.get()
            try:
                done.set_result(start())
            except BaseException as exc:  # handed to the caller, who re-raises it
                done.set_exception(exc)


_spawner = _Spawner()


class ExifToolProcess:
    """One `-stay_open` ExifTool; not thread-safe, the pool hands it to one caller at a time."""

    _ids = itertools.count(1)

    def __init__(self, perl: str, script: Path) -> None:
        self._command = [perl, str(script), "-stay_open", "True", "-@", "-"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = itertools.count(1)
        self.id = next(self._ids)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The OS process id while the process is running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start ExifTool from the spawner thread (see `_Spawner`)."""
        # a worker that exited on its own is reaped first, so its pipes are closed, not leaked
        self.kill()
        self._proc = _spawner.run(self._popen)

    def _popen(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        bundled_lib = Path("/opt/perl/lib")
        if bundled_lib.is_dir():
            env["PERL5LIB"] = str(bundled_lib)
        return subprocess.Popen(  # noqa: S603 - fixed command, arguments go through stdin
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
            close_fds=True,
        )

    def execute(self, args: Sequence[str], timeout: float) -> ExifToolResult:
        """Run one command; EngineFailure if the process dies, EngineTimeout past `timeout`."""
        return self.receive(self.send(args), timeout)

    def send(self, args: Sequence[str]) -> bytes:
        """Hand ExifTool one command without waiting for it; `receive` reads its answer."""
        if not self.alive:
            self.start()
        proc = self._proc
        assert proc is not None and proc.stdin
        n = next(self._seq)
        lines = [check_argument(a) for a in args]
        payload = "\n".join([*lines, "-echo4", f"{{ready{n}}}", f"-execute{n}", ""])
        try:
            proc.stdin.write(payload.encode("utf-8"))
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise EngineFailure("The metadata engine stopped unexpectedly.") from exc
        return f"{{ready{n}}}".encode()

    def receive(self, marker: bytes, timeout: float) -> ExifToolResult:
        """The answer to the command `send` returned `marker` for."""
        proc = self._proc
        if proc is None or not (proc.stdout and proc.stderr):
            raise EngineFailure("The metadata engine stopped unexpectedly.")
        out, err = self._read_until(proc.stdout, proc.stderr, marker, timeout)
        return ExifToolResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def _read_until(
        self, stdout: IO[bytes], stderr: IO[bytes], marker: bytes, timeout: float
    ) -> tuple[bytes, bytes]:
        deadline = time.monotonic() + timeout
        buffers = {stdout.fileno(): bytearray(), stderr.fileno(): bytearray()}
        done = {stdout.fileno(): False, stderr.fileno(): False}
        with selectors.DefaultSelector() as sel:
            sel.register(stdout, selectors.EVENT_READ)
            sel.register(stderr, selectors.EVENT_READ)
            while not all(done.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise EngineTimeout(
                        f"Processing this file took longer than {timeout:g} s and was stopped: "
                        "its metadata may be damaged or built to be slow to read."
                    )
                for key, _ in sel.select(remaining):
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self.kill()
                        raise EngineFailure("The metadata engine stopped unexpectedly.")
                    buffers[fd] += chunk
                    if buffers[fd].rstrip().endswith(marker):
                        done[fd] = True
                        sel.unregister(key.fileobj)
        out, err = (bytes(buffers[stdout.fileno()]), bytes(buffers[stderr.fileno()]))
        return _strip_marker(out, marker), _strip_marker(err, marker)

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        """Ask ExifTool to leave, then make sure it has."""
        proc = self._proc
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.write(b"-stay_open\nFalse\n")
                proc.stdin.flush()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


# Read once by each process at launch, so that perl has loaded what reading a JPEG's EXIF as JSON
# needs before the first request's file: 40 bytes whose EXIF names a Make
_WARMUP_JPEG = (
    b"\xff\xd8\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00"
    b"\x0f\x01\x02\x00\x02\x00\x00\x00x\x00\x00\x00\x00\x00\x00\x00\xff\xd9"
)
_WARMUP_READ = ("-j", "-G", "-charset", "filename=utf8")
# the version as `-ver` prints it, or in that read's JSON (numbers are printed as ExifTool has
# them, so 13.50 stays 13.50)
_VERSION = re.compile(r'\A\s*(\d+\.\d+)\s*\Z|"ExifTool:ExifToolVersion": "?(\d+\.\d+)')


def _warmup_file() -> Path | None:
    """The warm-up JPEG in a private temp file (None where none can be written: no warm-up)."""
    try:
        handle, name = tempfile.mkstemp(prefix="exs-warmup-", suffix=".jpg")
        with os.fdopen(handle, "wb") as out:
            out.write(_WARMUP_JPEG)
    except OSError:
        return None
    return Path(name)


def _strip_marker(data: bytes, marker: bytes) -> bytes:
    idx = data.rfind(marker)
    return data[:idx] if idx >= 0 else data


class ExifToolPool:
    """A fixed number of warm ExifTool processes shared by all request threads."""

    def __init__(self, perl: str, script: Path, size: int, timeout: float) -> None:
        self._perl = perl
        self._script = script
        self._timeout = timeout
        self._size = size
        self._idle: queue.LifoQueue[ExifToolProcess] = queue.LifoQueue()
        self._all: list[ExifToolProcess] = []
        self._lock = threading.Lock()
        # the command `launch` sent each process, whose answer `start` reads
        self._pending: list[tuple[ExifToolProcess, bytes]] = []
        self._warmup: Path | None = None
        self.version: str | None = None

    @property
    def size(self) -> int:
        return self._size

    def pids(self) -> list[int]:
        """Process ids of the workers running now."""
        return sorted(p.pid for p in self._all if p.pid is not None)

    def launch(self) -> None:
        """Start every process and have each read a tiny JPEG (the first one's answer carries
        the ExifTool version), without waiting for perl: `start` reads the answers. A Lambda
        handler calls this before its heavy imports, so perl loads ExifTool and what a first
        read needs on the other core meanwhile (the first request's read then takes ~3 ms
        instead of ~15). One command per process: answers are never pipelined."""
        self._make_processes()
        held = [self._idle.get() for _ in range(self._size)]
        try:
            self._warmup = _warmup_file()
            for process in held:
                if self._warmup is not None:
                    command = [*_WARMUP_READ, str(self._warmup)]
                elif self._pending:
                    break  # nothing to warm the others with
                else:
                    command = ["-ver"]
                self._pending.append((process, process.send(command)))
        finally:
            for process in held:
                self._idle.put(process)

    def _make_processes(self) -> None:
        if not self._script.exists():
            raise ServiceUnavailable(
                f"ExifTool not found at {self._script}; run `make -C layers/exiftool host`."
            )
        with self._lock:
            if not self._all:
                for _ in range(self._size):
                    process = ExifToolProcess(self._perl, self._script)
                    self._all.append(process)
                    self._idle.put(process)

    def _version(self) -> str:
        """The version in the answers to what `launch` sent, or from a `-ver` sent now. Nobody
        else holds the pool before `start` returns (get_pool hands it out after), so those
        answers are still the next things its processes print; a process that died meanwhile
        is replaced on its next call, as after any failure."""
        pending, self._pending = self._pending, []
        version: str | None = None
        try:
            for process, marker in pending:
                try:
                    answer = process.receive(marker, self._timeout).stdout
                except EngineFailure:
                    log.warning("exiftool process %s died while starting", process.id)
                    continue
                found = _VERSION.search(answer)
                if version is None and found:
                    version = found.group(1) or found.group(2)
        finally:
            self._forget_warmup()
        return version if version is not None else self.run(["-ver"]).stdout.strip()

    def _forget_warmup(self) -> None:
        if self._warmup is not None:
            self._warmup.unlink(missing_ok=True)
            self._warmup = None

    def start(self, min_version: float) -> None:
        """Start one process, check the ExifTool version, and fill the pool lazily later."""
        if self.version is not None:
            return
        self._make_processes()
        version = self._version()
        try:
            number = float(version)
        except ValueError as exc:
            raise ServiceUnavailable(f"Could not read the ExifTool version ({version!r}).") from exc
        if number < min_version:
            self.close()
            raise ServiceUnavailable(
                f"ExifTool {version} is older than {min_version:.2f}, the lowest version this "
                f"service accepts ({CVE_NOTE}); build the pinned one with "
                "`make -C layers/exiftool host`."
            )
        self.version = version

    def warm(self) -> None:
        """Start every process now (Lambda init phase, server start-up) instead of on demand."""
        held = [self._idle.get() for _ in range(self._size)]
        try:
            for process in held:
                if not process.alive:
                    process.start()
        finally:
            for process in held:
                self._idle.put(process)

    @contextmanager
    def _checkout(self) -> Iterator[ExifToolProcess]:
        try:
            process = self._idle.get(timeout=self._timeout * 2)
        except queue.Empty as exc:
            raise EngineFailure("The metadata engine is busy; try again.") from exc
        try:
            yield process
        finally:
            self._idle.put(process)

    def run(self, args: Sequence[str], timeout: float | None = None) -> ExifToolResult:
        """Run one ExifTool command on a warm process; a dead process is replaced and retried."""
        limit = timeout or self._timeout
        with self._checkout() as process:
            try:
                return process.execute(args, limit)
            except EngineTimeout:
                log.warning("exiftool process %s timed out and was replaced", process.id)
                raise
            except EngineFailure:
                log.warning("exiftool process %s died; retrying on a new one", process.id)
                return process.execute(args, limit)

    def close(self) -> None:
        self._forget_warmup()
        for process in self._all:
            process.close()


_pool: ExifToolPool | None = None
# launched by launch_pool() and not yet version-checked: get_pool() finishes its start
_launched: ExifToolPool | None = None
_pool_lock = threading.Lock()


def _new_pool() -> ExifToolPool:
    settings = get_settings()
    return ExifToolPool(
        settings.perl_path,
        settings.exiftool_path,
        settings.exiftool_pool_size,
        settings.exiftool_timeout_s,
    )


def launch_pool() -> None:
    """Start the process-wide pool's ExifTool processes and return at once.

    A Lambda handler calls this first thing in its init phase: perl then loads ExifTool on the
    other core while Python imports the rest, and get_pool() only reads the version it printed.
    Any problem starting is left for get_pool() to raise, as it would have without this call.
    """
    global _launched
    with _pool_lock:
        if _pool is not None or _launched is not None:
            return
        pool = _new_pool()
        try:
            pool.launch()
        except (ServiceUnavailable, EngineFailure, OSError):
            pool.close()
            return
        _launched = pool


def get_pool() -> ExifToolPool:
    """The process-wide pool, started (and version-checked) on first use."""
    global _pool, _launched
    with _pool_lock:
        if _pool is None:
            pool, _launched = _launched or _new_pool(), None
            try:
                pool.start(get_settings().exiftool_min_version)
            except BaseException:
                pool.close()
                raise
            _pool = pool
        return _pool


def shutdown_pool() -> None:
    """Stop every ExifTool process (server exit, tests)."""
    global _pool, _launched
    with _pool_lock:
        for pool in (_pool, _launched):
            if pool is not None:
                pool.close()
        _pool = _launched = None


atexit.register(shutdown_pool)
