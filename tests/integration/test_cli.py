"""The `exif-service` command: engine from the shell, admin tasks next to a running server,
local data surviving a restart, and no ExifTool left behind when the server stops."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from tests.support.media import exiftool, make_photo
from tests.support.server import children, is_running, run_cli, serve


def _extract_over_http(url: str, key: str, photo: Path) -> dict[str, object]:
    boundary = "----exs-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/api/v1/extract",
        data=body,
        headers={"X-API-Key": key, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        result: dict[str, object] = json.loads(response.read())
        return result


def test_extract_prints_json_for_each_file(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "one.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("just words\n")
    result = run_cli("extract", str(photo), str(text), data_dir=tmp_path / "data")
    assert result.returncode == 1  # one of the two could not be read
    printed = json.loads(result.stdout)
    assert printed[0]["metadata"]["exif"]["Model"] == "Canon EOS R5"
    assert printed[0]["metadata"]["File"]["Name"] == "one.jpg"
    assert "not supported" in printed[1]["error"]


def test_remove_writes_a_clean_file(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "in.jpg")
    out = tmp_path / "out.jpg"
    result = run_cli("remove", str(photo), "-o", str(out), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "image/jpeg"
    tags = json.loads(exiftool("-j", "-G", str(out)))[0]
    assert "Canon" not in json.dumps(tags)
    assert tags["EXIF:Orientation"] == "Rotate 90 CW"


def test_remove_of_a_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = run_cli(
        "remove",
        str(tmp_path / "nope.jpg"),
        "-o",
        str(tmp_path / "o.jpg"),
        data_dir=tmp_path / "data",
    )
    assert result.returncode == 2
    assert "not a readable file" in result.stderr
    assert not (tmp_path / "o.jpg").exists()


def test_create_user_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    result = run_cli(
        "admin",
        "create-user",
        "--email",
        "a@example.com",
        "--plan",
        "pro",
        data_dir=tmp_path / "data",
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("exs_") and " " not in last and len(last) >= 36


@pytest.mark.slow
def test_server_admin_keys_and_data_survive_a_restart_and_leave_no_exiftool(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    photo = make_photo(tmp_path / "p.jpg")
    with serve(data, log) as server:
        created = run_cli(
            "admin", "create-user", "--email", "live@example.com", "--plan", "pro", data_dir=data
        )
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        first = _extract_over_http(server.url, key, photo)
        assert first["success"] is True
        workers = [pid for pid in children(server.pid) if _is_exiftool(pid)]
        assert workers, "the server keeps warm ExifTool processes"
    # SIGTERM'd: the server is gone and so is every ExifTool it started
    assert not is_running(server.pid)
    deadline = time.monotonic() + 10
    while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if is_running(pid)]

    with serve(data, log) as again:
        # the key made while the first server ran still works, and so does the old uuid
        second = _extract_over_http(again.url, key, photo)
        assert second["success"] is True
        with urllib.request.urlopen(  # noqa: S310 - loopback
            f"{again.url}/api/v1/extract/{first['uuid']}", timeout=30
        ) as response:
            assert json.loads(response.read())["uuid"] == first["uuid"]


def _is_exiftool(pid: int) -> bool:
    try:
        return "exiftool" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


@pytest.mark.slow
def test_killed_server_leaves_no_exiftool_behind(tmp_path: Path) -> None:
    import os
    import signal

    with serve(tmp_path / "data", tmp_path / "server.log") as server:
        workers = [pid for pid in children(server.pid) if _is_exiftool(pid)]
        assert workers
        os.kill(server.pid, signal.SIGKILL)  # no chance to clean up: the kernel must do it
        server.process.wait()
    deadline = time.monotonic() + 10
    while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if is_running(pid)]
