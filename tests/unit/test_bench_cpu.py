"""The bench's CPU accounting: every process of a tree, by role, from /proc."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.cpu import cpu_seconds, spent, tree_cpu

_BURN = (
    "import sys, time\n"
    "while time.process_time() < 0.3: pass\n"
    "print('done', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_a_child_s_cpu_is_counted_under_its_role() -> None:
    # a child named like the local server's ExifTool workers burns 0.3 s of CPU, then waits
    child = subprocess.Popen(
        [sys.executable, "-c", _BURN, "exiftool"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "done"
        snapshot = tree_cpu(os.getpid())
        role, seconds = snapshot[child.pid]
        assert role == "ExifTool"
        assert seconds >= 0.29
        assert snapshot[os.getpid()][0] == "server"  # the root is the server, whatever its name
    finally:
        child.communicate("")


def test_spent_counts_new_processes_from_zero_and_gone_ones_not_at_all() -> None:
    before = {1: ("server", 1.0), 2: ("emulator", 0.5), 3: ("ExifTool", 2.0)}
    after = {1: ("server", 1.25), 2: ("emulator", 0.75), 4: ("ExifTool", 0.125)}
    assert spent(before, after) == {"server": 0.25, "emulator": 0.25, "ExifTool": 0.125}


def test_a_process_that_is_gone_has_no_cpu() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) == 0.0
