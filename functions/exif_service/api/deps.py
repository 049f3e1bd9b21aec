"""FastAPI dependencies shared by the surfaces, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from exif_service.api.inputs import struct_flag
from exif_service.settings import Settings, get_settings
from exif_service.store.blobs import Blobs


def get_blobs() -> Blobs:
    return Blobs()


def settings_dep() -> Settings:
    return get_settings()


BlobsDep = Annotated[Blobs, Depends(get_blobs)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]
StructuredDep = Annotated[bool, Depends(struct_flag)]  # `?struct=true`: structured XMP
