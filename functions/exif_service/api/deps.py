"""FastAPI dependencies shared by the surfaces, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from exif_service.api.inputs import struct_flag
from exif_service.services.runtime import EnginePool, FileStore, engine_pool, file_store
from exif_service.settings import Settings, get_settings


def settings_dep() -> Settings:
    return get_settings()


BlobsDep = Annotated[FileStore, Depends(file_store)]
PoolDep = Annotated[EnginePool, Depends(engine_pool)]  # ExifTool, started on first use
SettingsDep = Annotated[Settings, Depends(settings_dep)]
StructuredDep = Annotated[bool, Depends(struct_flag)]  # `?struct=true`: structured XMP
