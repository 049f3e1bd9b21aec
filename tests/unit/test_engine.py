"""The ExifTool pool: reuse, timeouts, crashes, argument safety and the version floor.

The real ExifTool where it matters; the fake `-stay_open` script of tests/support/fake_exiftool.py
(run by this Python) where we need ExifTool to hang, die or claim an old version on demand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.fake_exiftool import write_fake_exiftool
from tests.support.media import make_jpeg

from exif_service.domain.errors import EngineFailure, ServiceUnavailable, UnsafeTag
from exif_service.domain.tags import parse_tag_name
from exif_service.engine.exiftool import EngineTimeout, ExifToolPool
from exif_service.engine.operations import WriteTag, read_metadata, write_tags
from exif_service.engine.workspace import workspace
from exif_service.settings import get_settings


@pytest.fixture
def fake_exiftool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = write_fake_exiftool(tmp_path)
    monkeypatch.setenv("FAKE_HANG_FLAG", str(tmp_path / "hanging"))
    return script


def _fake_pool(script: Path, size: int = 1, timeout: float = 30.0) -> ExifToolPool:
    return ExifToolPool(sys.executable, script, size=size, timeout=timeout)


@pytest.fixture
def real_pool() -> Iterator[ExifToolPool]:
    settings = get_settings()
    pool = ExifToolPool(settings.perl_path, settings.exiftool_path, size=2, timeout=30.0)
    pool.start(settings.exiftool_min_version)
    yield pool
    pool.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_pool_reuses_the_same_processes_across_calls(
    real_pool: ExifToolPool, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    real_pool.warm()
    before = real_pool.pids()
    assert len(before) == 2
    for _ in range(10):
        read_metadata(real_pool, photo, file_name="a.jpg")
    assert real_pool.pids() == before


def test_concurrent_calls_share_the_pool_without_new_processes(
    real_pool: ExifToolPool, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    real_pool.warm()
    before = real_pool.pids()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                assert read_metadata(real_pool, photo, file_name="a.jpg").file_type == "JPEG"
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert real_pool.pids() == before


def test_workers_survive_the_thread_that_started_them(tmp_path: Path) -> None:
    # Linux's parent-death signal follows the starting *thread*; request threads come and go
    settings = get_settings()
    pool = ExifToolPool(settings.perl_path, settings.exiftool_path, size=1, timeout=30.0)
    try:
        starter = threading.Thread(target=pool.start, args=(settings.exiftool_min_version,))
        starter.start()
        starter.join()
        (pid,) = pool.pids()
        # give a wrongly delivered SIGKILL every chance to land before we look
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        assert _alive(pid)
        assert pool.run(["-ver"]).stdout.strip() == pool.version
        assert pool.pids() == [pid]
    finally:
        pool.close()


def test_killed_worker_is_replaced_and_the_next_call_works(
    real_pool: ExifToolPool, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    real_pool.warm()
    victims = real_pool.pids()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    report = read_metadata(real_pool, photo, file_name="a.jpg")
    assert report.file_type == "JPEG"
    assert not set(real_pool.pids()) & set(victims)


def test_hung_call_is_killed_after_the_timeout_and_its_process_replaced(
    fake_exiftool: Path, tmp_path: Path
) -> None:
    pool = _fake_pool(fake_exiftool, size=1, timeout=30.0)
    pool.start(13.50)
    try:
        (hung_pid,) = pool.pids()
        with pytest.raises(EngineTimeout):
            pool.run(["HANG"], timeout=0.5)
        assert not _alive(hung_pid)
        assert pool.run(["-ver"]).stdout.strip() == "13.59"
        (new_pid,) = pool.pids()
        assert new_pid != hung_pid
    finally:
        pool.close()


def test_pool_keeps_serving_while_one_call_hangs(fake_exiftool: Path, tmp_path: Path) -> None:
    pool = _fake_pool(fake_exiftool, size=2, timeout=30.0)
    pool.start(13.50)
    pool.warm()
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            pool.run(["HANG"], timeout=2.0)
        except BaseException as exc:  # collected for the main thread
            outcome.append(exc)

    hanging = threading.Thread(target=hang)
    hanging.start()
    try:
        flag = tmp_path / "hanging"
        while not flag.exists() and hanging.is_alive():
            time.sleep(0.01)
        assert pool.run(["-ver"]).stdout.strip() == "13.59"
        assert hanging.is_alive(), "the second call had to be served while the first hung"
    finally:
        hanging.join()
        pool.close()
    assert len(outcome) == 1 and isinstance(outcome[0], EngineTimeout)


def test_process_that_dies_mid_call_is_retried_on_a_fresh_one(fake_exiftool: Path) -> None:
    pool = _fake_pool(fake_exiftool)
    pool.start(13.50)
    try:
        (first,) = pool.pids()
        with pytest.raises(EngineFailure):
            pool.run(["DIE"])  # dies again on the retry: the caller gets a clear error
        assert pool.run(["-ver"]).stdout.strip() == "13.59"
        assert pool.pids() != [first]
    finally:
        pool.close()


def test_engine_failure_message_names_no_internals(fake_exiftool: Path) -> None:
    pool = _fake_pool(fake_exiftool)
    pool.start(13.50)
    try:
        with pytest.raises(EngineFailure) as caught:
            pool.run(["DIE"])
        assert str(fake_exiftool) not in caught.value.message
        assert "/" not in caught.value.message
    finally:
        pool.close()


def test_old_exiftool_is_refused_with_the_cves_named(
    fake_exiftool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "12.0")
    pool = _fake_pool(fake_exiftool)
    with pytest.raises(ServiceUnavailable) as caught:
        pool.start(13.50)
    assert "CVE-2021-22204" in caught.value.message
    assert "CVE-2022-23935" in caught.value.message
    assert "12.0" in caught.value.message
    assert pool.pids() == []


def test_missing_exiftool_is_refused_with_the_build_command(tmp_path: Path) -> None:
    pool = ExifToolPool("perl", tmp_path / "nowhere" / "exiftool", size=1, timeout=5.0)
    with pytest.raises(ServiceUnavailable, match="make -C layers/exiftool host"):
        pool.start(13.50)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b", "\n-o\n/tmp/x"])
def test_line_breaks_and_nul_in_arguments_never_reach_exiftool(
    fake_exiftool: Path, bad: str
) -> None:
    pool = _fake_pool(fake_exiftool)
    pool.start(13.50)
    try:
        (pid,) = pool.pids()
        with pytest.raises(UnsafeTag):
            pool.run(["-ver", bad])
        # nothing was written to the process, so its protocol is still in step
        assert pool.run(["-ver"]).stdout.strip() == "13.59"
        assert pool.pids() == [pid]
    finally:
        pool.close()


def _injected_value(target: Path) -> str:
    # a tag value that, split on its line breaks, becomes `-o TARGET`: a second output file
    return f"x\n-o\n{target}"


def test_unchecked_line_break_in_a_value_would_have_created_a_file(tmp_path: Path) -> None:
    # the attack is real: fed to ExifTool's one-argument-per-line reader unchecked, the value
    # writes a file of the attacker's choosing
    photo = make_jpeg(tmp_path / "in.jpg")
    pwned = tmp_path / "pwned.jpg"
    argfile = tmp_path / "args.txt"
    argfile.write_text("\n".join([f"-Comment={_injected_value(pwned)}", str(photo)]) + "\n")
    settings = get_settings()
    subprocess.run(
        [settings.perl_path, str(settings.exiftool_path), "-@", str(argfile)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert pwned.exists()


def test_write_tags_refuses_line_breaks_and_creates_nothing(
    real_pool: ExifToolPool, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "in.jpg")
    pwned = tmp_path / "pwned.jpg"
    out = tmp_path / "out.jpg"
    tag = WriteTag(parse_tag_name("Comment"), _injected_value(pwned))
    with pytest.raises(UnsafeTag):
        write_tags(real_pool, photo, out, [tag])
    assert not pwned.exists()
    assert not out.exists()


def test_workspace_is_removed_after_success(tmp_path: Path) -> None:
    with workspace() as work:
        (work / "input.jpg").write_bytes(b"x")
        kept = work
    assert not kept.exists()


def test_workspace_is_removed_after_failure(tmp_path: Path) -> None:
    kept: Path | None = None
    with pytest.raises(RuntimeError), workspace() as work:
        kept = work
        (work / "input.jpg").write_bytes(b"x")
        raise RuntimeError("boom")
    assert kept is not None and not kept.exists()


def test_workspace_is_private_to_the_server_user() -> None:
    with workspace() as work:
        assert work.stat().st_mode & 0o777 == 0o700


def test_jpeg_and_png_facts_for_a_strip_come_from_the_header_without_exiftool(
    fake_exiftool: Path, tmp_path: Path
) -> None:
    # the fake answers every read with nothing: only a header read can produce these facts
    from tests.support.media import draw, make_photo, make_png

    from exif_service.domain.errors import UnsupportedFile
    from exif_service.engine.operations import quick_facts

    pool = _fake_pool(fake_exiftool)
    pool.start(13.50)
    try:
        facts = quick_facts(pool, make_photo(tmp_path / "p.jpg"))
        assert (facts.file_type, facts.mime_type, facts.orientation) == ("JPEG", "image/jpeg", 6)
        png = quick_facts(pool, make_png(tmp_path / "p.png"))
        assert (png.file_type, png.mime_type) == ("PNG", "image/png")
        tiff = tmp_path / "p.tif"
        draw().save(tiff, "TIFF")
        with pytest.raises(UnsupportedFile):  # TIFF needs ExifTool, which answers nothing here
            quick_facts(pool, tiff)
    finally:
        pool.close()
