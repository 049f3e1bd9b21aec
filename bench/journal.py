"""What the local emulator's journal costs per write (issue 14 item 8).

The emulator runs as `exif-service serve` runs it: a child process (`EmulatorProcess`) on a
fresh data folder, once per mode:
- `off`: no journal (writes live in memory until a snapshot);
- `flushed`: journaled and flushed to the OS before each answer (survives a killed process,
  not a power cut);
- `fsync`: journaled and fdatasync'd before each answer (the default: survives both).

In each mode one client sends the writes a request makes: a usage counter's conditional
UpdateItem (ADD), a history row's PutItem (about 1 KB), and an S3 PutObject of a cleaned file;
every call is timed and the median kept; then a camera-size S3 PutObject (4.6 MB by default, a
cleaned camera JPEG's size) with the child's CPU per put; and two clients send PutItems at
once (`c=2 /s`: concurrent writers share an fsync); the modes alternate over a few rounds and
each mode's best round is kept. Reads are not journaled, so they cost nothing here.

`child CPU` is the emulator child's own CPU time (user + system, from /proc) per DynamoDB
write over the timed UpdateItem and PutItem calls: what each store call costs the machine,
which a loaded machine's wall clock hides; `big CPU ms` is the same per large PutObject.

    python -m bench.journal [--writes 200] [--object-kb 100] [--big-kb 4600] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODES = {
    "off": {"EXIF_SERVICE_LOCAL_JOURNAL": "false"},
    "flushed": {"EXIF_SERVICE_LOCAL_JOURNAL": "true", "EXIF_SERVICE_LOCAL_JOURNAL_SYNC": "false"},
    "fsync": {"EXIF_SERVICE_LOCAL_JOURNAL": "true", "EXIF_SERVICE_LOCAL_JOURNAL_SYNC": "true"},
}


@dataclass(frozen=True)
class Row:
    mode: str
    update_ms: float  # conditional UpdateItem ADD, median
    put_item_ms: float  # PutItem of about 1 KB, median
    put_object_ms: float  # S3 PutObject, median
    journal_bytes: int  # what the writes added to the journal
    concurrent_per_s: float  # PutItem per second with two clients at once
    child_cpu_ms: float | None  # the child's CPU per DynamoDB write (None: no /proc)
    put_big_ms: float = 0.0  # S3 PutObject of a camera-size file, median
    big_cpu_ms: float | None = None  # the child's CPU per camera-size PutObject

    @property
    def writes_per_s(self) -> float:
        """Mutating requests per second at concurrency 1, over the three kinds alike."""
        return 3000.0 / (self.update_ms + self.put_item_ms + self.put_object_ms)


@contextmanager
def _emulator(env: dict[str, str], data_dir: Path) -> Iterator[Any]:
    from exif_service.local.emulator import EmulatorProcess
    from exif_service.settings import get_settings
    from exif_service.store.aws import reset_clients

    saved = {
        name: os.environ.get(name) for name in [*env, "EXIF_SERVICE_DATA_DIR", "AWS_ENDPOINT_URL"]
    }
    os.environ.update(env)
    os.environ["EXIF_SERVICE_DATA_DIR"] = str(data_dir)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    get_settings.cache_clear()
    emulator = EmulatorProcess(get_settings())
    try:
        yield emulator.start(), emulator.pid
    finally:
        emulator.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        reset_clients()


def _cpu_s(pid: int | None) -> float | None:
    """A process's CPU time so far (user + system), where Linux's /proc tells it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_ms(call: Callable[[int], object], times: int) -> float:
    spent = []
    for i in range(times):
        start = time.perf_counter()
        call(i)
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent)


def measure_mode(mode: str, writes: int, object_bytes: int, big_bytes: int = 4600 * 1024) -> Row:
    from exif_service.store.aws import client

    with tempfile.TemporaryDirectory(prefix="exif-service-journal-") as tmp:
        data_dir = Path(tmp)
        with _emulator(MODES[mode], data_dir) as (settings, pid):
            dynamodb, s3 = client("dynamodb"), client("s3")
            usage = settings.table_name("usage")
            history = settings.table_name("files")
            journal = data_dir / "data" / "journal"
            before = journal.stat().st_size if journal.exists() else 0
            body = os.urandom(object_bytes)
            big = os.urandom(big_bytes)
            note = "x" * 900

            def update(i: int) -> object:
                return dynamodb.update_item(
                    TableName=usage,
                    Key={"subject": {"S": "user#bench"}, "day": {"S": "2026-11-29"}},
                    UpdateExpression="ADD used :one",
                    ConditionExpression="attribute_not_exists(used) OR used < :limit",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": "1000000"}},
                )

            def put_item(i: int) -> object:
                return dynamodb.put_item(
                    TableName=history,
                    Item={
                        "file_id": {"S": f"bench-{i}"},
                        "owner_id": {"S": "user#bench"},
                        "note": {"S": note},
                    },
                )

            def put_object(i: int) -> object:
                return s3.put_object(
                    Bucket=settings.bucket,
                    Key=f"results/bench/{i}.jpg",
                    Body=body,
                    ContentType="image/jpeg",
                )

            def put_big(i: int) -> object:
                return s3.put_object(
                    Bucket=settings.bucket,
                    Key=f"results/bench/big-{i % 4}.jpg",
                    Body=big,
                    ContentType="image/jpeg",
                )

            for warm in (update, put_item, put_object, put_big):
                warm(-1)
            start = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(put_item, range(writes, 3 * writes)))
            concurrent_per_s = 2 * writes / (time.perf_counter() - start)
            cpu_before = _cpu_s(pid)
            update_ms = _median_ms(update, writes)
            put_item_ms = _median_ms(put_item, writes)
            cpu_after = _cpu_s(pid)
            child_cpu_ms = (
                None
                if cpu_before is None or cpu_after is None
                else (cpu_after - cpu_before) * 1000 / (2 * writes)
            )
            big_writes = max(4, writes // 10)
            cpu_before = _cpu_s(pid)
            put_big_ms = _median_ms(put_big, big_writes)
            cpu_after = _cpu_s(pid)
            big_cpu_ms = (
                None
                if cpu_before is None or cpu_after is None
                else (cpu_after - cpu_before) * 1000 / big_writes
            )
            row = Row(
                mode=mode,
                update_ms=update_ms,
                put_item_ms=put_item_ms,
                put_object_ms=_median_ms(put_object, writes),
                journal_bytes=(journal.stat().st_size if journal.exists() else 0) - before,
                concurrent_per_s=concurrent_per_s,
                child_cpu_ms=child_cpu_ms,
                put_big_ms=put_big_ms,
                big_cpu_ms=big_cpu_ms,
            )
    return row


def measure(
    writes: int = 200,
    object_bytes: int = 100 * 1024,
    rounds: int = 2,
    big_bytes: int = 4600 * 1024,
) -> list[Row]:
    """Every mode (off, flushed, fsync) in alternating rounds, each mode's best median kept."""
    runs: dict[str, list[Row]] = {mode: [] for mode in MODES}
    for _ in range(rounds):
        for mode in MODES:
            runs[mode].append(measure_mode(mode, writes, object_bytes, big_bytes))
    return [
        Row(
            mode=mode,
            update_ms=min(r.update_ms for r in rows),
            put_item_ms=min(r.put_item_ms for r in rows),
            put_object_ms=min(r.put_object_ms for r in rows),
            journal_bytes=rows[0].journal_bytes,
            concurrent_per_s=max(r.concurrent_per_s for r in rows),
            child_cpu_ms=_least([r.child_cpu_ms for r in rows]),
            put_big_ms=min(r.put_big_ms for r in rows),
            big_cpu_ms=_least([r.big_cpu_ms for r in rows]),
        )
        for mode, rows in runs.items()
    ]


def _least(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return min(known) if known else None


def show(rows: list[Row]) -> None:
    """Print the table, with each mode's extra milliseconds per write against `off`."""
    base = next(row for row in rows if row.mode == "off")
    print(  # noqa: T201 - the bench's report
        f"{'journal':<9}{'UpdateItem ms':>15}{'PutItem ms':>12}{'PutObject ms':>14}"
        f"{'writes/s':>10}{'c=2 /s':>8}{'+ms/write':>11}{'journal MB':>12}"
        f"{'child CPU ms/call':>19}{'big put ms':>12}{'big CPU ms':>12}"
    )
    for row in rows:
        extra = statistics.mean(
            [
                row.update_ms - base.update_ms,
                row.put_item_ms - base.put_item_ms,
                row.put_object_ms - base.put_object_ms,
            ]
        )
        print(  # noqa: T201 - the bench's report
            f"{row.mode:<9}{row.update_ms:>15.2f}{row.put_item_ms:>12.2f}{row.put_object_ms:>14.2f}"
            f"{row.writes_per_s:>10.0f}{row.concurrent_per_s:>8.0f}{extra:>+11.2f}"
            f"{row.journal_bytes / 1e6:>12.1f}"
            + (f"{row.child_cpu_ms:>19.2f}" if row.child_cpu_ms is not None else f"{'-':>19}")
            + f"{row.put_big_ms:>12.2f}"
            + (f"{row.big_cpu_ms:>12.2f}" if row.big_cpu_ms is not None else f"{'-':>12}")
        )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.journal", description=__doc__)
    parser.add_argument("--writes", type=int, default=200, help="timed writes of each kind")
    parser.add_argument("--object-kb", type=int, default=100, help="size of each S3 put")
    parser.add_argument("--big-kb", type=int, default=4600, help="size of each large S3 put")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per mode")
    args = parser.parse_args()
    show(measure(args.writes, args.object_kb * 1024, args.rounds, args.big_kb * 1024))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
