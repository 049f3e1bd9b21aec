"""Provenance and place on the wire, the same on the v1 and image-tools surfaces: the models the
OpenAPI document shows, and the `?geolocation=` switch."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.inputs import query_flag
from exif_service.domain.provenance import Located
from exif_service.domain.report import MetadataReport


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class ProvenanceAction(_Wire):
    action: str = Field(description="the C2PA action, e.g. `c2pa.created`, `c2pa.edited`")
    digital_source_type: str | None = Field(alias="digitalSourceType")
    software_agent: str | None = Field(alias="softwareAgent")
    when: str | None


class ProvenanceIngredient(_Wire):
    title: str | None
    relationship: str | None = Field(description="parentOf, componentOf or inputTo")


class ContentCredentialsWire(_Wire):
    claim_generator: str | None = Field(
        alias="claimGenerator", description="the tool that wrote the manifest"
    )
    signer: str | None = Field(description="who signed it (the certificate's common name)")
    signed_at: str | None = Field(alias="signedAt", description="a trusted timestamp, if any")
    title: str | None
    actions: list[ProvenanceAction]
    ingredients: list[ProvenanceIngredient]
    validation: Literal["valid", "untrusted", "invalid"] = Field(
        description="valid: intact and signed by a trusted certificate; untrusted: intact, "
        "signer unknown to this server; invalid: changed after signing, or broken"
    )
    validation_errors: list[str] = Field(alias="validationErrors")


class ProvenanceWire(_Wire):
    content_credentials: ContentCredentialsWire | None = Field(alias="contentCredentials")
    ai_generated: bool | None = Field(
        alias="aiGenerated",
        description="true: a manifest action or the IPTC DigitalSourceType names generative or "
        "algorithmic media; false: they name a capture; null: nothing says",
    )
    digital_source_type: str | None = Field(alias="digitalSourceType")
    sources: list[Literal["c2pa", "iptc"]]


class PlaceWire(_Wire):
    city: str
    region: str | None
    subregion: str | None
    country: str | None
    country_code: str | None = Field(alias="countryCode")
    time_zone: str | None = Field(alias="timeZone")
    distance_km: float | None = Field(alias="distanceKm", description="from the file's position")


class ProvenanceFields(BaseModel):
    """The members a metadata answer carries after its groups: the provenance always, the place
    and local capture time with `?geolocation=true` (v1 extract, the public viewer)."""

    provenance: ProvenanceWire | None = Field(
        default=None, description="Content Credentials and whether a model made it"
    )
    place: PlaceWire | None = Field(
        default=None, description="with `?geolocation=true`: the nearest city to the position"
    )
    captured_at_local: str | None = Field(
        default=None,
        alias="capturedAtLocal",
        description="with `?geolocation=true`: a capture time the file gave without a zone, "
        "with the place's offset",
    )


def provenance_body(report: MetadataReport) -> dict[str, Any]:
    """The report's provenance as the wire shows it."""
    wire = ProvenanceWire.model_validate(report.provenance.to_dict())
    return wire.model_dump(by_alias=True)


def place_body(located: Located | None) -> dict[str, Any]:
    """`place` and `capturedAtLocal`, both null when the file holds no position."""
    if located is None:
        return {"place": None, "capturedAtLocal": None}
    place = PlaceWire.model_validate(located.place.to_dict()).model_dump(by_alias=True)
    return {"place": place, "capturedAtLocal": located.captured_at_local}


def geolocation_flag(
    geolocation: Annotated[
        str | None,
        Query(
            description="`true`: add `place` (nearest city, region, country, time zone and "
            "distance, from ExifTool's offline database) and `capturedAtLocal`"
        ),
    ] = None,
) -> bool:
    """Whether `?geolocation=` asks for the place; anything but true/false is a 400."""
    return query_flag(geolocation, "geolocation")


GeolocationDep = Annotated[bool, Depends(geolocation_flag)]
