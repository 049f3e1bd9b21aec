"""The local server: its AWS emulator runs in a child process that never outlives it, and slow
clients cannot hold its connections."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from tests.support.server import children, cli_env, is_running, serve

pytestmark = pytest.mark.slow

_GONE_WITHIN_S = 60  # a bound for the loop, not an assertion about speed


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + _GONE_WITHIN_S
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not is_running(pid)


def _listening_pids(port: int) -> set[int]:
    """The processes holding the loopback socket that listens on `port` (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
            inodes.add(fields[9])
    owners = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            owners.add(int(fd.parent.parent.name))
    return owners


def _state(data: Path) -> dict[str, object]:
    state: dict[str, object] = json.loads((data / "server.json").read_text())
    return state


def test_the_emulator_is_a_child_process_and_stops_with_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data, tmp_path / "server.log") as server:
        state = _state(data)
        child = int(str(state["emulatorPid"]))
        endpoint = str(state["awsEndpoint"])
        assert child != server.pid and child in children(server.pid)
        # the emulator's port belongs to the child, not to the server's interpreter
        assert _listening_pids(int(endpoint.rsplit(":", 1)[1])) == {child}
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert "exif-service-users" in dynamodb.list_tables()["TableNames"]
    # serve() ended with SIGTERM, as a service manager stops it
    assert server.process.returncode == 0
    assert _wait_gone(child)
    assert not (data / "server.json").exists()


def test_kill_9_of_the_server_leaves_no_emulator_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data, tmp_path / "server.log") as server:
        child = int(str(_state(data)["emulatorPid"]))
        os.kill(server.pid, signal.SIGKILL)  # no chance to stop anything itself
        server.process.wait()
        assert _wait_gone(child)


def _start_child(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "exif_service.local.child", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=cli_env(data),
    )
    assert process.stdout is not None
    endpoint: str = json.loads(process.stdout.readline())["endpoint"]
    return process, endpoint


def _journal_is_folded(data: Path) -> bool:
    snapshot = json.loads((data / "data" / "snapshot.json").read_text())
    journal = (data / "data" / "journal").read_bytes()
    # a fresh journal holds only its first line, and the snapshot names the journal it folded
    return journal.count(b"\n") == 1 and snapshot["journal"] is not None


def _write_something(endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    s3.put_object(Bucket="exif-service-files", Key="results/x/clean.jpg", Body=b"x")


def test_the_emulator_child_stops_when_its_pipe_closes_and_saves_its_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    process, endpoint = _start_child(data)
    with process:
        _write_something(endpoint)
        assert process.stdin is not None
        process.stdin.close()  # what a dead parent's pipe looks like
        assert process.wait(timeout=120) == 0
    assert _journal_is_folded(data)


def test_the_emulator_child_stops_on_sigterm_and_saves_its_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    process, endpoint = _start_child(data)
    with process:
        _write_something(endpoint)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
    assert _journal_is_folded(data)


# --- slow clients -------------------------------------------------------------------------------

_SLOW = {
    "EXIF_SERVICE_LOCAL_HEADER_TIMEOUT_S": "3",
    "EXIF_SERVICE_LOCAL_BODY_IDLE_TIMEOUT_S": "3",
    "EXIF_SERVICE_LOCAL_MAX_CONNECTIONS": "4",
    "EXIF_SERVICE_RUN_SCHEDULES": "false",
}


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1024) == b""
    except ConnectionError:
        return True


def _trickle_headers(port: int) -> bool:
    """Send a request head one byte at a time; whether the server hung up before the end."""
    head = b"GET /api/v1/extract/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except ConnectionError:
                return True
            if _closed_by_server(sock):
                return True
            time.sleep(0.25)
    return False


def _stall_body(port: int) -> bool:
    """Send headers promising a body, then only part of it; whether the server hung up."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /api/v1/extract HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: exs_x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            b"--b\r\nContent-Disposition: form-data; name=file; filename=a.jpg\r\n\r\n\xff\xd8"
        )
        sock.settimeout(120)
        try:
            answer = sock.recv(1024)
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        # hung up without an answer, or answered (never 200) and hung up
        return answer == b"" or not answer.startswith(b"HTTP/1.1 200")


def _get(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/api/v1/extract/ping")
        status = connection.getresponse().status
    finally:
        connection.close()
    return status


def test_slow_clients_are_cut_off_and_connections_are_capped(tmp_path: Path) -> None:
    with serve(tmp_path / "data", tmp_path / "server.log", **_SLOW) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert _trickle_headers(port), "a request head sent at 4 bytes/s must not hold forever"
        assert _stall_body(port), "a body that stops arriving must not hold forever"
        assert _get(port) == 404  # the server itself is fine

        # a request head past 16 KB is refused, whether it comes at once or in pieces
        for pieces in (1, 40):
            head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.settimeout(60)
                step = len(head) // pieces + 1
                try:
                    for start in range(0, len(head), step):
                        sock.sendall(head[start : start + step])
                except ConnectionError:
                    pass  # refused before the rest was sent
                assert sock.recv(1024).startswith(b"HTTP/1.1 4")
        # a small head with its body in the same packet is not mistaken for a large head
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(60)
            sock.sendall(
                b"POST /api/v1/extract HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + b"b" * 30000
            )
            assert not sock.recv(1024).startswith(b"HTTP/1.1 431")

        # past the cap, a request is refused with 503 instead of waiting for a slot
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        try:
            for sock in held:
                sock.sendall(b"GET /api/v1/extract/ping HTTP/1.1\r\nHost: x\r\n")
            statuses = {_get(port) for _ in range(3)}
        finally:
            for sock in held:
                sock.close()
        assert 503 in statuses
        assert _get(port) == 404  # the held connections are gone: served again


def test_the_server_stops_when_its_emulator_dies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data, tmp_path / "server.log") as server:
        os.kill(int(str(_state(data)["emulatorPid"])), signal.SIGKILL)
        # every request would fail without its store: the server says so and stops
        assert server.process.wait(timeout=120) == 1
    assert "emulator exited" in (tmp_path / "server.log").read_text()
    assert not (data / "server.json").exists()
