"""The embedded AWS emulator: moto's server in this process, on a loopback port."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    they cannot. Idempotent; affects only the in-process emulator.
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
    """moto's server on 127.0.0.1, with tables and bucket created and the snapshot loaded."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._server: Any = None
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self.endpoint = ""

    def start(self, *, persist: bool = True, save_every_s: float = 5.0) -> Settings:
        from moto.server import ThreadedMotoServer

        make_item_writes_atomic()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        settings = use_endpoint(self.endpoint)
        prepare_store(settings)
        if persist:
            from exif_service.local.persistence import Snapshot

            self._snapshot = Snapshot(settings)
            self._snapshot.restore()
            self._saver = threading.Thread(
                target=self._save_loop, args=(save_every_s,), name="snapshot", daemon=True
            )
            self._saver.start()
        self._settings = settings
        return settings

    def _save_loop(self, every: float) -> None:
        while not self._stopping.wait(every):
            self.save()

    def save(self) -> None:
        snapshot = getattr(self, "_snapshot", None)
        if snapshot is None:
            return
        try:
            snapshot.save()
        except Exception:  # a failed snapshot must not take the server down
            log.exception("could not save local data")

    def stop(self) -> None:
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(timeout=10)
        self.save()
        if self._server is not None:
            self._server.stop()
            self._server = None


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "server.json"


def write_state(settings: Settings, endpoint: str, url: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state = {"pid": os.getpid(), "awsEndpoint": endpoint, "url": url}
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
