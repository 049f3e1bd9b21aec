"""The pool launched early (a Lambda handler's first statement) and started later: launching
does not wait for ExifTool, starting reads the version it was asked for, and a process that
died in between is replaced exactly as on any other call."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.fake_exiftool import write_fake_exiftool
from tests.support.media import make_jpeg

from exif_service.domain.errors import ServiceUnavailable
from exif_service.engine import exiftool
from exif_service.engine.exiftool import ExifToolPool, get_pool, launch_pool, shutdown_pool
from exif_service.engine.operations import read_metadata
from exif_service.settings import get_settings


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file that lets the fake ExifTool answer once it exists (a launch that waited for its
    answer would hang on it instead of returning); every file it reads is listed in FAKE_READS."""
    monkeypatch.setenv("FAKE_GATE", str(tmp_path / "gate"))
    monkeypatch.setenv("FAKE_READS", str(tmp_path / "reads"))
    return tmp_path / "gate"


@pytest.fixture
def fake_pool(tmp_path: Path) -> Iterator[ExifToolPool]:
    script = write_fake_exiftool(tmp_path)
    pool = ExifToolPool(sys.executable, script, size=2, timeout=5.0)
    yield pool
    pool.close()


def test_launch_returns_before_exiftool_answers_and_start_reads_its_version(
    fake_pool: ExifToolPool, gate: Path
) -> None:
    fake_pool.launch()  # the fake holds its answers until the gate opens: this did not wait
    launched = fake_pool.pids()
    assert len(launched) == 2
    assert fake_pool.version is None
    gate.touch()
    fake_pool.start(13.50)
    assert fake_pool.version == "13.59"
    assert fake_pool.pids() == launched
    # each process read the warm-up JPEG once, which is gone once their answers are read
    warmups = (gate.parent / "reads").read_text().split()
    assert len(warmups) == 2 and len(set(warmups)) == 1
    assert not Path(warmups[0]).exists()
    assert fake_pool.run(["-echo"]).stderr == ""


def test_a_process_killed_between_launch_and_start_is_replaced(
    fake_pool: ExifToolPool, gate: Path
) -> None:
    fake_pool.launch()
    launched = fake_pool.pids()
    for pid in launched:
        os.kill(pid, signal.SIGKILL)
    gate.touch()
    fake_pool.start(13.50)
    assert fake_pool.version == "13.59"
    assert not set(fake_pool.pids()) & set(launched)
    assert fake_pool.run(["-ver"]).stdout.strip() == "13.59"


def test_an_old_exiftool_is_refused_after_launch_as_before(
    fake_pool: ExifToolPool, gate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "12.0")
    gate.touch()
    fake_pool.launch()
    with pytest.raises(ServiceUnavailable, match="CVE-2021-22204"):
        fake_pool.start(13.50)
    assert fake_pool.pids() == []


@pytest.fixture
def no_process_pool() -> Iterator[None]:
    shutdown_pool()
    yield
    shutdown_pool()


@pytest.mark.usefixtures("no_process_pool")
def test_get_pool_serves_the_launched_processes_with_the_real_exiftool(tmp_path: Path) -> None:
    launch_pool()
    launched = exiftool._launched
    assert launched is not None and launched.pids()
    pool = get_pool()
    assert pool is launched
    # the version came from the warm-up read's JSON, exactly as `-ver` prints it
    assert pool.version == pool.run(["-ver"]).stdout.strip()
    assert float(pool.version) >= get_settings().exiftool_min_version
    photo = make_jpeg(tmp_path / "a.jpg")
    report = read_metadata(pool, photo, file_name="a.jpg")
    assert report.file_type == "JPEG"
    assert pool.pids() == launched.pids()


@pytest.mark.usefixtures("no_process_pool")
def test_launch_without_exiftool_leaves_the_error_to_get_pool(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_EXIFTOOL_PATH", str(tmp_path / "nowhere" / "exiftool"))
    get_settings.cache_clear()
    try:
        launch_pool()  # no exception at import time of a handler
        assert exiftool._launched is None
        with pytest.raises(ServiceUnavailable, match="make -C layers/exiftool host"):
            get_pool()
    finally:
        get_settings.cache_clear()
