"""Where a file came from and where it was made: Content Credentials, AI labels and the place.

Plain rules over plain data. The engine hands in what the C2PA library read from a manifest
(`content_credentials`) and what ExifTool's offline database says about a position (`place_of`);
everything a caller sees is decided here:

- `validation`: `valid` (signature, hash binding and a trusted signer), `untrusted` (intact, but
  signed by a certificate no configured trust anchor vouches for), `invalid` (the bytes changed
  after signing, or the manifest is broken);
- `aiGenerated`: true when a manifest action or the IPTC DigitalSourceType property names
  trained, composite-with-trained or purely algorithmic media; false only on positive evidence
  of a capture (camera, scan, film); null when nothing says either;
- a capture time without a zone offset gets the place's zone in `capturedAtLocal`; the file's own
  value is never changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC's Digital Source Type vocabulary: made (wholly or partly) by a generative model, or by an
# algorithm alone.
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"}
)
# ...and the terms that say light (or film, or paper) was recorded from the world.
CAPTURE_SOURCE_TYPES = frozenset(
    {"digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print"}
)


class CredentialsOutcome(StrEnum):
    """What a strip or an edit did with the file's Content Credentials."""

    REMOVED = "removed"
    KEPT = "kept"  # asked for with keep=c2pa: the manifest stays, and no longer validates
    NONE = "none"  # the file had none


# How a kept manifest is explained beside the other things a strip leaves for a stated reason.
CREDENTIALS_KEPT_NOTE = "JUMBF: Content Credentials kept as asked; they no longer validate"
CREDENTIALS_UNTOUCHED_NOTE = (
    "JUMBF: Content Credentials kept as asked; they still validate (nothing they signed changed)"
)


class Validation:
    VALID = "valid"
    UNTRUSTED = "untrusted"
    INVALID = "invalid"


# Status codes of the C2PA validation that mean only "no trust anchor vouches for the signer".
_TRUST_CODES = frozenset({"signingCredential.untrusted"})
# Informational codes some library versions list among the statuses.
_INFO_CODES = re.compile(r"\.(skipped|insideValidity|validated|match|trusted)$")


@dataclass(frozen=True)
class Action:
    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    when: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "digitalSourceType": self.digital_source_type,
            "softwareAgent": self.software_agent,
            "when": self.when,
        }


@dataclass(frozen=True)
class Ingredient:
    title: str | None
    relationship: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "relationship": self.relationship}


@dataclass(frozen=True)
class ContentCredentials:
    """The active C2PA manifest of a file, as the reference library validated it."""

    validation: str
    claim_generator: str | None = None
    signer: str | None = None
    signed_at: str | None = None
    title: str | None = None
    actions: tuple[Action, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()
    validation_errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimGenerator": self.claim_generator,
            "signer": self.signer,
            "signedAt": self.signed_at,
            "title": self.title,
            "actions": [a.to_dict() for a in self.actions],
            "ingredients": [i.to_dict() for i in self.ingredients],
            "validation": self.validation,
            "validationErrors": list(self.validation_errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContentCredentials:
        return cls(
            validation=str(data.get("validation") or Validation.INVALID),
            claim_generator=_text(data.get("claimGenerator")),
            signer=_text(data.get("signer")),
            signed_at=_text(data.get("signedAt")),
            title=_text(data.get("title")),
            actions=tuple(
                Action(
                    str(a.get("action") or ""),
                    _text(a.get("digitalSourceType")),
                    _text(a.get("softwareAgent")),
                    _text(a.get("when")),
                )
                for a in _dicts(data.get("actions"))
            ),
            ingredients=tuple(
                Ingredient(_text(i.get("title")), _text(i.get("relationship")))
                for i in _dicts(data.get("ingredients"))
            ),
            validation_errors=tuple(str(e) for e in data.get("validationErrors") or ()),
        )


UNREADABLE = ContentCredentials(
    validation=Validation.INVALID, validation_errors=("manifest.unreadable",)
)


def content_credentials(store: Mapping[str, Any]) -> ContentCredentials | None:
    """The active manifest of a C2PA manifest store (the reference library's JSON report)."""
    manifests = store.get("manifests")
    active = store.get("active_manifest")
    if not isinstance(manifests, Mapping) or not isinstance(active, str):
        return None
    manifest = manifests.get(active)
    if not isinstance(manifest, Mapping):
        return None
    statuses = [s for s in _dicts(store.get("validation_status")) if isinstance(s.get("code"), str)]
    failures = [str(s["code"]) for s in statuses if not _INFO_CODES.search(str(s["code"]))]
    signature = manifest.get("signature_info")
    signature = signature if isinstance(signature, Mapping) else {}
    return ContentCredentials(
        validation=_validation(store.get("validation_state"), failures),
        claim_generator=_generator(manifest),
        signer=_text(signature.get("common_name")) or _text(signature.get("issuer")),
        signed_at=_text(signature.get("time")),
        title=_text(manifest.get("title")),
        actions=tuple(_actions(manifest)),
        ingredients=tuple(
            Ingredient(_text(i.get("title")), _text(i.get("relationship")))
            for i in _dicts(manifest.get("ingredients"))
        ),
        validation_errors=tuple(dict.fromkeys(failures)),
    )


def _validation(state: Any, failures: Sequence[str]) -> str:
    if state == "Trusted":
        return Validation.VALID
    if state == "Invalid" or any(code not in _TRUST_CODES for code in failures):
        return Validation.INVALID
    # "Valid": signature and hashes hold, but no trust anchor vouches for the signer
    return Validation.UNTRUSTED if state == "Valid" or failures else Validation.VALID


def _generator(manifest: Mapping[str, Any]) -> str | None:
    infos = _dicts(manifest.get("claim_generator_info"))
    if infos:
        name, version = _text(infos[0].get("name")), _text(infos[0].get("version"))
        return f"{name} {version}" if name and version else name
    return _text(manifest.get("claim_generator"))


def _actions(manifest: Mapping[str, Any]) -> list[Action]:
    out: list[Action] = []
    for assertion in _dicts(manifest.get("assertions")):
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        for item in _dicts(data.get("actions") if isinstance(data, Mapping) else None):
            agent = item.get("softwareAgent")
            if isinstance(agent, Mapping):
                agent = agent.get("name")
            out.append(
                Action(
                    str(item.get("action") or ""),
                    _text(item.get("digitalSourceType")),
                    _text(agent),
                    _text(item.get("when")),
                )
            )
    return out


@dataclass(frozen=True)
class Provenance:
    """What a file says about how it was made: its manifest, and whether a model made it."""

    content_credentials: ContentCredentials | None = None
    ai_generated: bool | None = None
    digital_source_type: str | None = None
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        credentials = self.content_credentials
        return {
            "contentCredentials": credentials.to_dict() if credentials else None,
            "aiGenerated": self.ai_generated,
            "digitalSourceType": self.digital_source_type,
            "sources": list(self.sources),
        }


def provenance(
    groups: Mapping[str, Mapping[str, Any]], credentials: ContentCredentials | None
) -> Provenance:
    """The provenance of a report's groups and its validated manifest, if it had one."""
    labelled = _labelled_source_type(groups)
    sources: list[str] = []
    if credentials is not None:
        sources.append("c2pa")
    if labelled is not None:
        sources.append("iptc")
    manifest_types = [a.digital_source_type for a in (credentials.actions if credentials else ())]
    named = [t for t in [labelled, *manifest_types] if t]
    terms = {source_term(t) for t in named}
    ai: bool | None = None
    if terms & AI_SOURCE_TYPES:
        ai = True
    else:
        # a capture claim counts only where nothing contradicts it: the IPTC label, or a manifest
        # that still validates
        trusted = credentials is not None and credentials.validation != Validation.INVALID
        captured = {source_term(t) for t in ([labelled] if labelled else [])}
        if trusted:
            captured |= {source_term(t) for t in manifest_types if t}
        if captured & CAPTURE_SOURCE_TYPES:
            ai = False
    chosen = labelled or next((t for t in manifest_types if t), None)
    return Provenance(credentials, ai, _as_uri(chosen) if chosen else None, tuple(sources))


def has_manifest(groups: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether ExifTool's read found a C2PA manifest store (a JUMBF box labelled `c2pa`)."""
    jumbf = groups.get("JUMBF")
    if not jumbf:
        return False
    labels = jumbf.get("JUMDLabel")
    return any(str(v).lower() == "c2pa" for v in (labels if isinstance(labels, list) else [labels]))


def source_term(value: str) -> str:
    """The vocabulary term of a Digital Source Type: its URI's last part (`digitalCapture`)."""
    return re.split(r"[/.#]", value.strip())[-1]


def _as_uri(value: str) -> str:
    term = source_term(value)
    return value if value.startswith("http") else IPTC_SOURCE_TYPES + term


def _labelled_source_type(groups: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The IPTC DigitalSourceType property, wherever ExifTool found it (not the manifest's)."""
    for group, tags in groups.items():
        if group == "JUMBF":
            continue
        value = tags.get("DigitalSourceType")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# -- place ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """The nearest city of ExifTool's geolocation database to a position, and how far it is."""

    city: str
    region: str | None
    subregion: str | None
    country: str | None
    country_code: str | None
    time_zone: str | None
    distance_km: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "region": self.region,
            "subregion": self.subregion,
            "country": self.country,
            "countryCode": self.country_code,
            "timeZone": self.time_zone,
            "distanceKm": self.distance_km,
        }

    @property
    def name(self) -> str:
        """`Arezzo, Tuscany, Italy`."""
        return ", ".join(p for p in (self.city, self.region, self.country) if p)

    def describe(self) -> str:
        """`0.6 km from Arezzo, Tuscany, Italy`."""
        if self.distance_km is None:
            return f"near {self.name}"
        return f"{self.distance_km:.1f} km from {self.name}"


def valid_position(lat: float, lng: float) -> bool:
    """A latitude and longitude that name a point on Earth."""
    return all(math.isfinite(v) for v in (lat, lng)) and abs(lat) <= 90 and abs(lng) <= 180


def place_of(raw: Mapping[str, Any]) -> Place | None:
    """The place in ExifTool's numeric geolocation record (`-n -api geolocation=lat,lng`)."""

    def get(name: str) -> Any:
        return raw.get(f"Geolocation{name}") or raw.get(f"ExifTool:Geolocation{name}")

    city = _text(get("City"))
    if city is None:
        return None
    distance = get("Distance")
    try:
        km = round(float(str(distance).split()[0]), 2) if distance is not None else None
    except ValueError:
        km = None
    return Place(
        city=city,
        region=_text(get("Region")),
        subregion=_text(get("Subregion")),
        country=_text(get("Country")),
        country_code=_text(get("CountryCode")),
        time_zone=_text(get("TimeZone")),
        distance_km=km,
    )


@dataclass(frozen=True)
class Located:
    """A file's place, and its capture time in that place's zone when the file gave none."""

    place: Place
    captured_at_local: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"place": self.place.to_dict(), "capturedAtLocal": self.captured_at_local}


# Capture times in the order a camera's own claim is trusted; each with the tag holding its
# offset when EXIF keeps it apart.
_CAPTURE_TIMES = (
    ("EXIF", "DateTimeOriginal", "OffsetTimeOriginal"),
    ("XMP", "DateTimeOriginal", None),
    ("EXIF", "CreateDate", "OffsetTimeDigitized"),
    ("XMP", "CreateDate", None),
    ("XMP", "DateCreated", None),
)
_NAIVE_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$")


def captured_at_local(groups: Mapping[str, Mapping[str, Any]], time_zone: str | None) -> str | None:
    """The capture time with the place's offset (ISO 8601), only when the file gave no zone."""
    if not time_zone:
        return None
    for group, name, offset_tag in _CAPTURE_TIMES:
        value = groups.get(group, {}).get(name)
        if not isinstance(value, str) or value.startswith("0000"):
            continue
        if offset_tag and groups.get(group, {}).get(offset_tag):
            return None  # the file says its zone
        match = _NAIVE_TIME.match(value.strip())
        if match is None:
            return None  # a zone of its own, or a shape that is not a plain local time
        try:
            zone = ZoneInfo(time_zone)
            y, mo, d, h, mi, s = (int(match.group(i)) for i in range(1, 7))
            moment = datetime(y, mo, d, h, mi, s, tzinfo=zone)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return moment.isoformat()
    return None


_DMS = re.compile(r"""^\s*([\d.]+) deg (?:([\d.]+)' )?(?:([\d.]+)" )?([NSEW])\s*$""")


def position_of(groups: Mapping[str, Mapping[str, Any]]) -> tuple[float, float] | None:
    """A report's position in signed degrees, from ExifTool's printed composite coordinates."""
    composite = groups.get("Composite", {})
    lat, lng = _degrees(composite.get("GPSLatitude")), _degrees(composite.get("GPSLongitude"))
    if lat is None or lng is None or not valid_position(lat, lng):
        return None
    return lat, lng


def _degrees(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DMS.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    deg, minutes, seconds, hemisphere = match.groups()
    number = float(deg) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    return -number if hemisphere in "SW" else number


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
