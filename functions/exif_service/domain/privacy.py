"""What a tag says about the people behind a file, and what each strip preset removes.

One table classifies tags into privacy categories; the strip presets, the privacy report and
the web page's privacy check all read it. A tag is matched by its name, first matching rule wins;
the few names that mean different things in different groups are told apart in `classify`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from exif_service.domain.errors import BadRequest


class Category(StrEnum):
    LOCATION = "location"
    DEVICE = "device"
    IDENTITY = "identity"  # authorship and rights
    PEOPLE = "people"
    TIME = "time"
    HISTORY = "history"  # software and editing history
    EMBEDDED = "embedded"  # thumbnails and previews
    FREE_TEXT = "free-text"
    PROVENANCE = "provenance"  # Content Credentials: a signed record of its making and editing


@dataclass(frozen=True)
class Rule:
    category: Category
    name: re.Pattern[str]
    why: str


def _rule(category: Category, name: str, why: str) -> Rule:
    return Rule(category, re.compile(name, re.IGNORECASE), why)


# Order matters: GPS dates are times, not places; a lens serial is a device id, not a lens.
RULES: tuple[Rule, ...] = (
    _rule(Category.TIME, r"^GPS(Date|Time)(Stamp|Time)?$", "when the position was recorded"),
    _rule(
        Category.LOCATION,
        r"GPS|^Location|^(City|State|Province-State|Country|CountryCode|Sub-?location)$|"
        r"^Country-PrimaryLocation(Name|Code)$|^Geolocation",
        "where the file was made",
    ),
    _rule(
        Category.DEVICE,
        r"SerialNumber$|^(Camera)?OwnerName$|UniqueID$|^ContentIdentifier$|^DeviceID$",
        "identifies the camera, lens or phone that made it",
    ),
    _rule(
        Category.PEOPLE,
        r"^PersonInImage|^Region(Name|PersonDisplayName|Type|Description|Area|Applied|List|Info)|"
        r"^Faces?Detected|^FaceDetect|^Face\d|^RegionInfo",
        "names or marks the people shown",
    ),
    _rule(
        Category.HISTORY,
        r"^History|^DerivedFrom|^(Original)?DocumentID$|^InstanceID$|^DocumentAncestors|"
        r"^Software$|^CreatorTool$|^ProcessingSoftware$|^HostComputer$|^Producer$|^Encoder$",
        "tells which software touched it and what it was made from",
    ),
    _rule(
        Category.EMBEDDED,
        r"^(Thumbnail|Preview)(Image|TIFF|PNG)$|^JpgFromRaw$|^OtherImage$|^MPImage\d*$|"
        # where the engine's reads see an embedded image: its offset and length
        r"^(Thumbnail|PreviewImage|JpgFromRaw|OtherImage)(Offset|Length|Start)$|"
        r"^PhotoshopThumbnail$|^CoverArt$|^EmbeddedImage$",
        "a smaller copy of the picture, which may show what was cropped or edited out",
    ),
    _rule(
        Category.IDENTITY,
        r"^(Artist|Creator|By-line|By-lineTitle|Author|XPAuthor|Writer-Editor|Credit|Copyright|"
        r"CopyrightNotice|Rights|UsageTerms|WebStatement|Marked|Contact)$|^CreatorContactInfo|"
        r"^CreatorWork|^Licensor|^CreatorAddress|^CreatorCity|^CreatorCountry",
        "names who made it or owns it",
    ),
    _rule(
        Category.TIME,
        r"^(DateTimeOriginal|CreateDate|ModifyDate|DateTimeDigitized|DateCreated|TimeCreated|"
        r"DigitalCreationDate|DigitalCreationTime|MetadataDate|SubSecTime\w*|OffsetTime\w*|"
        r"TrackCreateDate|TrackModifyDate|MediaCreateDate|MediaModifyDate|CreationDate|"
        r"DateTime)$",
        "when it was made or changed",
    ),
    _rule(
        Category.FREE_TEXT,
        r"^(Comment|UserComment|XPComment|ImageDescription|Description|Caption-Abstract|"
        r"Headline|Instructions|SpecialInstructions|Subject)$",
        "free text, which can say anything about anyone",
    ),
)

# A C2PA manifest (ExifTool's JUMBF group) is one block: it names the signer and the tools and
# files the picture was made from, and it is removed or kept whole.
PROVENANCE_RULE = _rule(
    Category.PROVENANCE,
    r".",
    "Content Credentials: a signed record of who made it, with what, and what it was made from",
)
CREDENTIALS_GROUP = "JUMBF"

# Groups that only describe the file as a file: never findings.
_NEUTRAL = frozenset({"File", "System", "ExifTool", "Composite"})


def classify(group0: str, group1: str, name: str) -> Rule | None:
    """The rule a tag falls under, or None when it says nothing about anyone."""
    if group0 == "File" and name == "Comment":
        group0 = "JPEG"  # a JPEG's COM segment, which ExifTool files under File: free text
    if group0 in _NEUTRAL:
        return None
    if group0 == CREDENTIALS_GROUP:
        return PROVENANCE_RULE
    for rule in RULES:
        if rule.name.search(name):
            # a PDF's Subject is its description; XMP's dc:subject is keywords, not free text
            if name.lower() == "subject" and group0 != "PDF":
                return None
            return rule
    return None


class Preset(StrEnum):
    """How much a strip removes."""

    SAFE = "safe"  # everything but the colour profile and orientation (the default)
    ALL = "all"  # everything
    LOCATION = "location"  # only where it was made
    SENSITIVE = "sensitive"  # what identifies people and devices; authorship and settings stay


# What the two targeted presets remove; `safe` and `all` remove every category and more. Every
# preset removes Content Credentials (unless kept with `keep=c2pa`): a strip changes the bytes
# the manifest signed, and a file should not carry a record that no longer holds.
PRESET_REMOVES: dict[Preset, frozenset[Category]] = {
    Preset.LOCATION: frozenset({Category.LOCATION, Category.PROVENANCE}),
    Preset.SENSITIVE: frozenset(
        {
            Category.LOCATION,
            Category.DEVICE,
            Category.PEOPLE,
            Category.FREE_TEXT,
            Category.HISTORY,
            Category.EMBEDDED,
            Category.PROVENANCE,
        }
    ),
}
_ALIASES = {"none": Preset.ALL}  # `keep=none`, the v1 surface's earlier spelling of `all`


def parse_preset(raw: str | None) -> Preset:
    """`safe` (default), `all` (or `none`), `location` or `sensitive`; 400 naming anything else."""
    value = (raw or "").strip().lower() or Preset.SAFE.value
    if value in _ALIASES:
        return _ALIASES[value]
    try:
        return Preset(value)
    except ValueError as exc:
        names = ", ".join(p.value for p in Preset)
        raise BadRequest(f"Unknown preset {raw!r}: use one of {names}.") from exc


@dataclass(frozen=True)
class KeepRule:
    """A tag (`Artist`), a tag in a group (`XMP-dc:Creator`) or a whole group (`IPTC:all`)."""

    group: str | None
    name: str  # "all" for the whole group

    @property
    def arg(self) -> str:
        return f"{self.group}:{self.name}" if self.group else self.name

    def matches(self, group0: str, group1: str, name: str) -> bool:
        if self.group is not None and self.group.lower() not in (group0.lower(), group1.lower()):
            return False
        return self.name.lower() == "all" or self.name.lower() == name.lower()


# `keep=c2pa`: the manifest, which ExifTool keeps as the JUMBF group
C2PA_KEEP = KeepRule(CREDENTIALS_GROUP, "all")
_KEEP_ALIASES = {"c2pa": C2PA_KEEP}

_KEEP_ITEM = re.compile(r"^(?:([A-Za-z][A-Za-z0-9-]{0,40}):)?([A-Za-z][A-Za-z0-9_-]{0,80})$")
MAX_KEEP = 50


def parse_keep(raw: str | None) -> tuple[KeepRule, ...]:
    """`Tag,Group:Tag,Group:all` -> rules; 400 naming the first malformed item."""
    text = (raw or "").strip()
    if not text:
        return ()
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_KEEP:
        raise BadRequest(f"keep lists at most {MAX_KEEP} tags.")
    rules: list[KeepRule] = []
    for item in items:
        alias = _KEEP_ALIASES.get(item.lower())
        if alias is not None:
            rules.append(alias)
            continue
        match = _KEEP_ITEM.match(item)
        if match is None or (match.group(1) is None and match.group(2).lower() == "all"):
            raise BadRequest(f"Invalid keep item {item[:60]!r}: use Tag, Group:Tag or Group:all.")
        rules.append(KeepRule(match.group(1), match.group(2)))
    return tuple(rules)


def kept_by(rules: tuple[KeepRule, ...], group0: str, group1: str, name: str) -> bool:
    """Whether one of the caller's keep rules spares this tag."""
    return any(rule.matches(group0, group1, name) for rule in rules)


@dataclass(frozen=True)
class StripPlan:
    """A strip as the caller asked for it: a preset, and tags to keep on top of it."""

    preset: Preset = Preset.SAFE
    keep: tuple[KeepRule, ...] = ()

    @property
    def keeps_credentials(self) -> bool:
        """Whether the caller asked to keep the C2PA manifest (`keep=c2pa`, `keep=JUMBF:all`)."""
        return kept_by(self.keep, CREDENTIALS_GROUP, CREDENTIALS_GROUP, "JUMDLabel")

    def removes(self, group0: str, group1: str, name: str) -> bool:
        """Whether a targeted preset (location, sensitive) removes this tag."""
        categories = PRESET_REMOVES.get(self.preset, frozenset())
        rule = classify(group0, group1, name)
        return (
            rule is not None
            and rule.category in categories
            and not kept_by(self.keep, group0, group1, name)
        )


def strip_plan(preset: str | None, keep: str | None) -> StripPlan:
    """The plan for a request's `preset` and `keep` values (400 naming a bad one).

    `keep=safe` and `keep=none` without a preset are the v1 surface's earlier way of naming the
    `safe` and `all` presets, and still mean them.
    """
    if not (preset or "").strip() and (keep or "").strip().lower() in ("safe", "none", "all"):
        return StripPlan(parse_preset(keep))
    return StripPlan(parse_preset(preset), parse_keep(keep))


class Risk(StrEnum):
    """How much a file gives away about the people behind it, at a glance."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


# Where someone was, who is shown and which device made the file point at a person; names,
# words, editing history and hidden copies of the picture describe one; a time alone rarely does.
CATEGORY_RISK: dict[Category, Risk] = {
    Category.LOCATION: Risk.HIGH,
    Category.PEOPLE: Risk.HIGH,
    Category.DEVICE: Risk.HIGH,
    Category.IDENTITY: Risk.MEDIUM,
    Category.FREE_TEXT: Risk.MEDIUM,
    Category.HISTORY: Risk.MEDIUM,
    Category.EMBEDDED: Risk.MEDIUM,
    Category.PROVENANCE: Risk.MEDIUM,
    Category.TIME: Risk.LOW,
}
_RISK_ORDER = (Risk.NONE, Risk.LOW, Risk.MEDIUM, Risk.HIGH)


def risk_of(categories: Iterable[Category]) -> Risk:
    """The highest risk of the categories found in a file; `none` when nothing was found."""
    return max((CATEGORY_RISK[c] for c in categories), key=_RISK_ORDER.index, default=Risk.NONE)
