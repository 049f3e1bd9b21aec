"""The privacy report's body, the same on the v1 and image-tools surfaces; each puts its own
success flag (`success`, `ok`) in front of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.inputs import query_flag
from exif_service.services.privacy import PrivacyReport


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class PrivacyFinding(_Wire):
    category: str
    tag: str = Field(description="`Group:Tag`, ExifTool's family-1 group (`GPS:GPSLatitude`)")
    value: str = Field(description="as ExifTool prints it, cut at 200 characters")
    why: str


class PresetLists(_Wire):
    remove: list[str] = Field(description="the `Group:Tag`s a strip with this preset removes")
    keep: list[str] = Field(description="the `Group:Tag`s it leaves in the file")


class PrivacyBody(_Wire):
    file_name: str = Field(alias="fileName")
    risk: str = Field(description="high, medium, low or none")
    findings: list[PrivacyFinding]
    presets: dict[str, PresetLists] = Field(description="safe, all, location and sensitive")


def privacy_body(report: PrivacyReport) -> dict[str, Any]:
    """fileName, risk, findings and the four presets' lists."""
    body = PrivacyBody(
        file_name=report.file_name,
        risk=report.risk.value,
        findings=[
            PrivacyFinding(category=f.category.value, tag=f.tag, value=f.value, why=f.why)
            for f in report.findings
        ],
        presets={
            preset.value: PresetLists(remove=list(effect.remove), keep=list(effect.keep))
            for preset, effect in report.presets.items()
        },
    )
    return body.model_dump(by_alias=True)


def privacy_flag(
    privacy: Annotated[
        str | None,
        Query(
            description="`true`: add `privacy`, the file's privacy report, from the same upload "
            "and the same one image of the allowance"
        ),
    ] = None,
) -> bool:
    return query_flag(privacy, "privacy")


PrivacyDep = Annotated[bool, Depends(privacy_flag)]
