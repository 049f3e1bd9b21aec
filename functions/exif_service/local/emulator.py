"""The embedded AWS emulator: moto's server on a loopback port, in a child process of the
local server (or in this process, for the command line and tests)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exif_service.local.journal import Journal, JournalingApp
from exif_service.local.persistence import Snapshot
from exif_service.settings import Settings, get_settings
from exif_service.store.aws import reset_clients
from exif_service.store.bind import create_tables
from exif_service.store.blobs import Blobs

log = logging.getLogger(__name__)

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def use_endpoint(endpoint: str) -> Settings:
    """Point settings, boto3 clients and pynamodb at `endpoint` with local credentials."""
    for name, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    get_settings.cache_clear()
    reset_clients()
    return get_settings()


_atomic_writes = threading.RLock()  # transact_write_items calls the others
_atomic_patched = False


def make_item_writes_atomic() -> None:
    """Serialise moto's DynamoDB writes, as DynamoDB serialises the writes to one item.

    moto checks a ConditionExpression and applies the write as two unlocked steps, so two
    threads could both pass `used < limit`; the daily quota relies on DynamoDB's guarantee that
    they cannot. Idempotent; patches moto in this process (the child applies it to its own).
    """
    global _atomic_patched
    if _atomic_patched:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def serialised(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _atomic_writes:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialised)
    _atomic_patched = True


def prepare_store(settings: Settings) -> None:
    """Create the tables and bucket from the definitions production uses, if missing."""
    create_tables(settings)
    Blobs(settings.bucket).ensure_bucket()


class LocalAws:
    """moto's server on 127.0.0.1 in this process, with tables, bucket and local data loaded.

    With `persist`, the data under `.exif-service/data/` is loaded at start (snapshot, then the
    journal replayed onto it and folded into a new snapshot), every acknowledged write is
    journaled while it runs (`local/journal.py`), and the journal is folded again at stop.
    `exif-service serve` runs this in a child process (`EmulatorProcess`).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self._snapshot: Snapshot | None = None
        self._journal: Journal | None = None
        self.app: JournalingApp | None = None
        self.endpoint = ""

    @property
    def connections_accepted(self) -> int:
        """TCP connections the emulator has accepted (a kept-alive client adds one)."""
        return self._server.accepted if self._server is not None else 0

    def start(self, *, persist: bool = True, save_every_s: float = 5.0) -> Settings:
        from exif_service.local.moto_server import HostDispatcher, make_server

        make_item_writes_atomic()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.app = JournalingApp(HostDispatcher())
        # port 0: the kernel picks a free port, with no window for another process to take it
        self._server = make_server(self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator", daemon=True
        )
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        settings = use_endpoint(self.endpoint)
        prepare_store(settings)
        self._settings = settings
        if persist:
            self._load(settings)
            self._saver = threading.Thread(
                target=self._save_loop, args=(save_every_s,), name="snapshot", daemon=True
            )
            self._saver.start()
        return settings

    def _load(self, settings: Settings) -> None:
        assert self.app is not None
        self._snapshot = Snapshot(settings)
        folded = self._snapshot.restore()
        journal = Journal(settings.data_dir / "data" / "journal", sync=settings.local_journal_sync)
        journal.open()
        if journal.id != folded:
            applied, refused = self.app.replay(journal.records())
            if applied or refused:
                log.info("local data: replayed %d journaled writes (%d refused)", applied, refused)
        self._journal = journal
        self._fold()
        if settings.local_journal:
            self.app.journal = journal

    def _fold(self) -> None:
        """Write a snapshot of everything and start an empty journal, with writes held.

        The save loop checks the journal's size every few seconds and folds past
        `local_journal_fold_bytes`; the object bodies (the slow part) are copied first, outside
        the lock, so writes wait only for what changed meanwhile, the tables and the manifest."""
        if self._snapshot is None or self._journal is None or self.app is None:
            return
        self._snapshot.prefetch()
        with self.app.lock:
            self._snapshot.save(folded=self._journal.id)
            self._journal.reset()

    def _save_loop(self, every: float) -> None:
        while not self._stopping.wait(every):
            journal = self._journal
            if self.app is not None and self.app.journal is None:
                self.save()  # no journal: the snapshot is all there is
            elif journal is not None and journal.size() > self._settings.local_journal_fold_bytes:
                self.save()

    def save(self) -> None:
        """Fold the journal into a new snapshot now."""
        try:
            self._fold()
        except Exception:  # a failed snapshot must not take the server down
            log.exception("could not save local data")

    def stop(self) -> None:
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(timeout=10)
        self.save()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._journal is not None:
            self._journal.close()


class EmulatorProcess:
    """`LocalAws` in a child process, so moto never competes with the app for the interpreter.

    The child (`python -m exif_service.local.child`) prints its endpoint once its data is
    loaded, and stops (folding its journal) when this process closes the pipe to its stdin,
    sends it SIGTERM, or dies: a kill -9 of the parent closes the pipe, and on Linux the child
    also asks the kernel for SIGTERM when its parent exits (PR_SET_PDEATHSIG, which follows the
    thread that started it: start it from the main thread).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self.endpoint = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, *, timeout_s: float = 300.0) -> Settings:
        env = {**FAKE_CREDENTIALS, **os.environ}
        env.pop("AWS_ENDPOINT_URL", None)
        env["EXIF_SERVICE_DATA_DIR"] = str(self._settings.data_dir)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "exif_service.local.child", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        line = _read_line(self._process, timeout_s)
        try:
            self.endpoint = json.loads(line)["endpoint"]
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise RuntimeError("the local AWS emulator did not start (see its log above)") from None
        settings = use_endpoint(self.endpoint)
        self._settings = settings
        return settings

    def on_exit(self, callback: Callable[[int], object]) -> None:
        """Call `callback(returncode)` from a watcher thread if the child exits before `stop`."""
        process = self._process
        if process is None:
            return

        def watch() -> None:
            code = process.wait()
            if not self._stopping.is_set():
                callback(code)

        threading.Thread(target=watch, name="emulator-watch", daemon=True).start()

    def stop(self, *, timeout_s: float = 60.0) -> None:
        self._stopping.set()
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to fold its journal and exit
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_line(process: subprocess.Popen[bytes], timeout_s: float) -> bytes:
    """The child's first stdout line, or b"" if it exits or stays silent for `timeout_s`."""
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            return b""
    return process.stdout.readline()


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "server.json"


def write_state(
    settings: Settings, endpoint: str, url: str, *, emulator_pid: int | None = None
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"pid": os.getpid(), "awsEndpoint": endpoint, "url": url}
    if emulator_pid is not None:
        state["emulatorPid"] = emulator_pid
    state_file(settings).write_text(json.dumps(state))


def clear_state(settings: Settings) -> None:
    state_file(settings).unlink(missing_ok=True)


def running_server(settings: Settings) -> dict[str, Any] | None:
    """The state of a local server that is running now, if any."""
    path = state_file(settings)
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (ValueError, KeyError, OSError):
        return None
    return state
