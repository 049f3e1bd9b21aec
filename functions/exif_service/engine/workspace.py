"""Private temp directories for the files the engine works on, always removed afterwards."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_EXT = re.compile(r"\.([A-Za-z0-9]{1,10})$")


def safe_extension(file_name: str) -> str:
    """The caller's extension if it is plain letters and digits, else `bin`."""
    match = _EXT.search(file_name or "")
    return match.group(1).lower() if match else "bin"


@contextmanager
def workspace() -> Iterator[Path]:
    """A 0700 temp dir for one operation; files inside get server-chosen names."""
    path = Path(tempfile.mkdtemp(prefix="exs-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
