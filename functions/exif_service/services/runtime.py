"""What the services run on, handed in by the edge: the ExifTool pool and the file store.

Routes get them as FastAPI dependencies (`api/deps.py`), Lambda handlers and the command line
call these factories once; tests swap either with `app.dependency_overrides` or by passing
their own, never by patching module globals.
"""

from __future__ import annotations

from exif_service.engine.exiftool import ExifToolPool, get_pool
from exif_service.store.blobs import Blobs

# The types the edge names in its signatures, so that it needs neither engine/ nor store/.
EnginePool = ExifToolPool
FileStore = Blobs


def engine_pool() -> ExifToolPool:
    """The process-wide warm ExifTool pool (started on first use)."""
    return get_pool()


def file_store() -> Blobs:
    """The configured bucket."""
    return Blobs()
