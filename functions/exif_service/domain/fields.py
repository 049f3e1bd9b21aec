"""What the image tools write, as plain data: form fields -> tags, typed tag values, GPS.

The simple editor and the SEO tool take a handful of named form fields and write each one to
every place that common readers look (EXIF for Windows and camera tools, IPTC IIM for older
DAMs and newspapers, XMP for Google Images and the IPTC Photo Metadata standard). The advanced
editor takes any tag by name; its values are type-checked here before the engine sees them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from exif_service.domain.errors import BadRequest
from exif_service.domain.lists import ListOp, is_list_tag
from exif_service.domain.tags import TagName, check_value, parse_tag_name

MAX_ADVANCED_FIELDS = 200
MAX_LIST_ITEMS = 200
MAX_FIELD_LENGTH = 2000
MAX_BULK_FILES = 20


class EditMode(StrEnum):
    APPEND = "append"  # keep what the file has, set the given tags, add to list tags
    OVERWRITE = "overwrite"  # clear the metadata first (colour profile kept)


def parse_mode(raw: str | None) -> EditMode:
    """`append` (default) or `overwrite`."""
    value = (raw or "").strip().lower() or EditMode.APPEND.value
    try:
        return EditMode(value)
    except ValueError as exc:
        raise BadRequest("mode must be 'append' or 'overwrite'.") from exc


@dataclass(frozen=True)
class Assignment:
    """Values for one tag; several values make a list tag, none deletes the tag.

    `numeric` values bypass ExifTool's print conversion (so `Orientation: 1` means 1, not
    the first printed name that happens to contain "1"). `fitted` writes (the simple tools')
    go only to files whose format holds the tag's kind of block; a tag the caller named
    goes to every file, and not being written there is an error.

    `op` ADD adds `values` to a list tag (those it lacks) and takes `removed` out of it.
    `joined` values are one comma-separated text in the file (movies' and PDFs' keywords).
    """

    tag: TagName
    values: tuple[str, ...]
    numeric: bool = False
    fitted: bool = False
    op: ListOp = ListOp.SET
    removed: tuple[str, ...] = ()
    joined: bool = False


def appended(assignment: Assignment) -> Assignment:
    """The assignment as append mode writes it: list tags gain the values instead of being
    replaced by them; other tags (and deletions) are set as given."""
    lists = assignment.joined or is_list_tag(assignment.tag)
    if assignment.op is ListOp.SET and assignment.values and lists:
        return replace(assignment, op=ListOp.ADD)
    return assignment


class Container(StrEnum):
    """The metadata blocks a format holds, which decides where a simple tool's field goes."""

    IMAGE = "image"  # EXIF, IPTC and XMP: JPEG, TIFF, PNG, PSD, camera raw
    EXIF_XMP = "exif-xmp"  # WebP and the HEIF family
    XMP = "xmp"  # GIF
    MOVIE = "movie"  # QuickTime and MP4: XMP and the movie's own Keys, ItemList, UserData
    PDF = "pdf"  # XMP and the Info dictionary


_BLOCKS: dict[Container, frozenset[str]] = {
    Container.IMAGE: frozenset({"EXIF", "IPTC", "XMP"}),
    Container.EXIF_XMP: frozenset({"EXIF", "XMP"}),
    Container.XMP: frozenset({"XMP"}),
    Container.MOVIE: frozenset({"XMP", "QuickTime"}),
    Container.PDF: frozenset({"XMP", "PDF"}),
}
_MOVIES = frozenset({"MP4", "MOV", "M4V", "M4A", "3GP", "3G2", "CRM", "F4V"})
_EXIF_XMP = frozenset({"WEBP", "HEIC", "HEIF", "AVIF", "JXL"})


def container_for(file_type: str) -> Container:
    """The container a file type (ExifTool's or Pillow's name) belongs to."""
    kind = file_type.upper()
    if kind in _MOVIES:
        return Container.MOVIE
    if kind == "PDF":
        return Container.PDF
    if kind == "GIF":
        return Container.XMP
    return Container.EXIF_XMP if kind in _EXIF_XMP else Container.IMAGE


def block_of(tag: TagName) -> str:
    """The kind of metadata block a tag is written to (`EXIF`, `IPTC`, `XMP`, ...)."""
    group = (tag.group or "").lower()
    if group.startswith("xmp"):
        return "XMP"
    if group in ("keys", "itemlist", "userdata", "quicktime"):
        return "QuickTime"
    if group in ("exif", "gps", "ifd0", "exififd"):
        return "EXIF"
    return group.upper()


def fit(assignments: list[Assignment], container: Container) -> list[Assignment]:
    """The assignments a file of `container` can hold (the caller's own tags all stay)."""
    blocks = _BLOCKS[container]
    return [a for a in assignments if not a.fitted or block_of(a.tag) in blocks]


class Kind(StrEnum):
    TEXT = "text"
    LIST = "list"  # comma-separated in the form, a list tag in the file
    URL = "url"
    EMAIL = "email"


@dataclass(frozen=True)
class FormField:
    """One named field of a simple tool and the tags it fills."""

    name: str
    tags: tuple[str, ...]
    kind: Kind = Kind.TEXT
    # where movies and PDFs keep the same field (players and PDF readers show these)
    elsewhere: tuple[str, ...] = ()


_AUTHOR = ("EXIF:Artist", "IPTC:By-line", "XMP-dc:Creator")
_TITLE = ("XMP-dc:Title", "IPTC:ObjectName")
_DESCRIPTION = ("EXIF:ImageDescription", "IPTC:Caption-Abstract", "XMP-dc:Description")
_KEYWORDS = ("IPTC:Keywords", "XMP-dc:Subject")

_TITLE_ELSEWHERE = ("ItemList:Title", "Keys:Title", "UserData:Title", "PDF:Title")
_AUTHOR_ELSEWHERE = ("ItemList:Artist", "Keys:Author", "UserData:Artist", "PDF:Author")
_DESCRIPTION_ELSEWHERE = (
    "ItemList:Description",
    "Keys:Description",
    "UserData:Description",
    "PDF:Subject",
)
# movies and PDFs keep keywords as one comma-separated text
_KEYWORDS_ELSEWHERE = ("Keys:Keywords", "ItemList:Keyword", "PDF:Keywords")

EDIT_FIELDS: tuple[FormField, ...] = (
    FormField("title", _TITLE, elsewhere=_TITLE_ELSEWHERE),
    FormField("description", _DESCRIPTION, elsewhere=_DESCRIPTION_ELSEWHERE),
    FormField("author", _AUTHOR, elsewhere=_AUTHOR_ELSEWHERE),
    FormField("keywords", _KEYWORDS, Kind.LIST, elsewhere=_KEYWORDS_ELSEWHERE),
    FormField(
        "copyright",
        ("EXIF:Copyright", "IPTC:CopyrightNotice", "XMP-dc:Rights"),
        elsewhere=("ItemList:Copyright", "Keys:Copyright", "UserData:Copyright"),
    ),
    FormField("creditLine", ("IPTC:Credit", "XMP-photoshop:Credit")),
    FormField("source", ("IPTC:Source", "XMP-photoshop:Source")),
    FormField("webStatementUrl", ("XMP-xmpRights:WebStatement",), Kind.URL),
    FormField("licensorName", ("XMP-plus:LicensorName",)),
    FormField("licensorUrl", ("XMP-plus:LicensorURL",), Kind.URL),
    FormField("usageTerms", ("XMP-xmpRights:UsageTerms",)),
    FormField("creatorUrl", ("XMP-iptcCore:CreatorWorkURL",), Kind.URL),
    FormField("creatorEmail", ("XMP-iptcCore:CreatorWorkEmail",), Kind.EMAIL),
    FormField("digitalSourceType", ("XMP-iptcExt:DigitalSourceType",), Kind.URL),
)

# The SEO tool's fields are all required; place names go to the IPTC location fields.
SEO_FIELDS: tuple[FormField, ...] = (
    FormField("name", _AUTHOR, elsewhere=_AUTHOR_ELSEWHERE),
    FormField("title", _TITLE, elsewhere=_TITLE_ELSEWHERE),
    FormField("description", _DESCRIPTION, elsewhere=_DESCRIPTION_ELSEWHERE),
    FormField("destination", ("IPTC:Province-State", "XMP-photoshop:State")),
    FormField("city", ("IPTC:City", "XMP-photoshop:City")),
    FormField("keywords", _KEYWORDS, Kind.LIST, elsewhere=_KEYWORDS_ELSEWHERE),
    FormField("category", ("XMP-photoshop:Category", "IPTC:SupplementalCategories")),
    FormField("url", ("XMP-xmpRights:WebStatement", "XMP-iptcCore:CreatorWorkURL"), Kind.URL),
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def split_keywords(text: str) -> tuple[str, ...]:
    """`"a, b,,c"` -> `("a", "b", "c")`, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for part in text.split(","):
        word = part.strip()
        if word:
            seen.setdefault(word, None)
    return tuple(seen)


def form_assignments(
    spec: tuple[FormField, ...],
    form: Mapping[str, str],
    *,
    required: bool = False,
    allow_empty: bool = False,
) -> list[Assignment]:
    """The tag writes for the filled-in fields of `spec`; 400 naming any bad or missing field.

    `allow_empty` accepts a form with no field filled in (an overwrite that only clears).
    """
    missing = [f.name for f in spec if not (form.get(f.name) or "").strip()]
    if required and missing:
        raise BadRequest(f"Missing required fields: {', '.join(missing)}.")
    out: list[Assignment] = []
    for field in spec:
        raw = (form.get(field.name) or "").strip()
        if not raw:
            continue
        values = _field_values(field, raw)
        out += [Assignment(parse_tag_name(tag), values, fitted=True) for tag in field.tags]
        out += [
            Assignment(parse_tag_name(tag), values, fitted=True, joined=field.kind is Kind.LIST)
            for tag in field.elsewhere
        ]
    if not out and not allow_empty:
        names = ", ".join(f.name for f in spec)
        raise BadRequest(f"Provide at least one metadata field ({names}).")
    return out


def _field_values(field: FormField, raw: str) -> tuple[str, ...]:
    if len(raw) > MAX_FIELD_LENGTH:
        raise BadRequest(f"{field.name} is longer than {MAX_FIELD_LENGTH} characters.")
    check_value(field.name, raw)
    if field.kind is Kind.URL and not raw.lower().startswith(("http://", "https://")):
        raise BadRequest(f"{field.name} must be an http(s) URL.")
    if field.kind is Kind.EMAIL and not _EMAIL.match(raw):
        raise BadRequest(f"{field.name} must be an email address.")
    if field.kind is Kind.LIST:
        words = split_keywords(raw)
        if not words:
            raise BadRequest(f"{field.name} must list at least one comma-separated word.")
        return words
    return (raw,)


def advanced_assignments(fields: Any) -> list[Assignment]:
    """Type-check the advanced editor's `{tag: value}` object.

    A value is a string, number or boolean, or a list of those for list tags; `null` deletes
    the tag; `{"add": [...], "remove": [...]}` edits a list tag item by item. Signed GPS
    coordinates also get their reference tag, unless the caller set it.
    """
    if not isinstance(fields, dict) or not fields:
        raise BadRequest("fields must be a JSON object with at least one tag.")
    if len(fields) > MAX_ADVANCED_FIELDS:
        raise BadRequest(f"fields may hold at most {MAX_ADVANCED_FIELDS} tags.")
    out: list[Assignment] = []
    for raw_name, value in fields.items():
        tag = parse_tag_name(raw_name)
        out.append(_assignment(tag, value))
    return out + _implied_gps_refs(out)


def _assignment(tag: TagName, value: Any) -> Assignment:
    if value is None:
        return Assignment(tag, ())
    if isinstance(value, dict):
        return _list_edit(tag, value)
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
        raise BadRequest(f"{tag.arg} may hold at most {MAX_LIST_ITEMS} values.")
    numeric = bool(items) and all(_is_number(v) for v in items)
    return Assignment(tag, tuple(_scalar(tag, v) for v in items), numeric=numeric)


_LIST_EDIT_KEYS = frozenset({"add", "remove"})


def _list_edit(tag: TagName, edit: dict[str, Any]) -> Assignment:
    """`{"add": [...], "remove": [...]}` for a list tag: each a list of strings."""
    shape = f'{tag.arg} takes {{"add": [...], "remove": [...]}} with lists of strings'
    if not edit or not set(edit) <= _LIST_EDIT_KEYS:
        raise BadRequest(f"{shape}.")
    parts: dict[str, tuple[str, ...]] = {}
    for key in ("add", "remove"):
        items = edit.get(key, [])
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            raise BadRequest(f"{shape}.")
        if len(items) > MAX_LIST_ITEMS:
            raise BadRequest(f"{tag.arg} may hold at most {MAX_LIST_ITEMS} values.")
        parts[key] = tuple(dict.fromkeys(_scalar(tag, v) for v in items))
    if not parts["add"] and not parts["remove"]:
        raise BadRequest(f"{shape}: both are empty.")
    if both := set(parts["add"]) & set(parts["remove"]):
        raise BadRequest(f"{tag.arg} both adds and removes {sorted(both)[0]}.")
    if not is_list_tag(tag):
        raise BadRequest(f"{tag.arg} is not a list tag: add and remove need one.")
    return Assignment(tag, parts["add"], op=ListOp.ADD, removed=parts["remove"])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(tag: TagName, value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRequest(f"Value for {tag.arg} must be a finite number.")
        return repr(value)
    if isinstance(value, str):
        return check_value(tag.arg, value)
    raise BadRequest(f"Value for {tag.arg} must be a string, number, boolean or a list of those.")


_GPS_REFS = {
    "gpslatitude": ("GPSLatitudeRef", "N", "S"),
    "gpslongitude": ("GPSLongitudeRef", "E", "W"),
}
_GPS_GROUPS = {None, "gps", "exif"}


def _implied_gps_refs(items: list[Assignment]) -> list[Assignment]:
    """EXIF keeps GPS coordinates unsigned with a separate N/S or E/W reference tag."""
    named = {a.tag.name.lower() for a in items}
    extra: list[Assignment] = []
    for item in items:
        ref = _GPS_REFS.get(item.tag.name.lower())
        group = item.tag.group.lower() if item.tag.group else None
        if ref is None or group not in _GPS_GROUPS or not item.numeric or len(item.values) != 1:
            continue
        ref_name, positive, negative = ref
        if ref_name.lower() in named:
            continue
        hemisphere = negative if float(item.values[0]) < 0 else positive
        extra.append(Assignment(TagName(group="GPS", name=ref_name), (hemisphere,)))
    return extra


@dataclass(frozen=True)
class GeoPoint:
    """A place in signed decimal degrees (south and west negative), altitude in metres."""

    lat: float
    lng: float
    alt: float | None = None


def parse_geo(latitude: str | None, longitude: str | None, altitude: str | None) -> GeoPoint:
    """Validate the geo tool's form fields; 400 for missing, non-numeric or out-of-range."""
    lat = _number("latitude", latitude, -90.0, 90.0, required=True)
    lng = _number("longitude", longitude, -180.0, 180.0, required=True)
    alt = _number("altitude", altitude, -20_000.0, 100_000.0, required=False)
    assert lat is not None and lng is not None
    return GeoPoint(lat=lat, lng=lng, alt=alt)


def _number(name: str, raw: str | None, low: float, high: float, *, required: bool) -> float | None:
    text = (raw or "").strip()
    if not text:
        if required:
            raise BadRequest(f"{name} is required.")
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number.") from exc
    if not math.isfinite(value) or not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}.")
    return value


def geo_assignments(point: GeoPoint) -> list[Assignment]:
    """EXIF GPS (unsigned values + N/S, E/W, above/below refs), XMP, and a movie's own tags."""

    def tag(group: str, name: str, value: str, numeric: bool = True) -> Assignment:
        return Assignment(TagName(group, name), (value,), numeric=numeric, fitted=True)

    out = [
        tag("GPS", "GPSLatitude", repr(abs(point.lat))),
        tag("GPS", "GPSLatitudeRef", "S" if point.lat < 0 else "N", numeric=False),
        tag("GPS", "GPSLongitude", repr(abs(point.lng))),
        tag("GPS", "GPSLongitudeRef", "W" if point.lng < 0 else "E", numeric=False),
        # XMP keeps the sign in the coordinate itself
        tag("XMP-exif", "GPSLatitude", repr(point.lat)),
        tag("XMP-exif", "GPSLongitude", repr(point.lng)),
    ]
    if point.alt is not None:
        below = "1" if point.alt < 0 else "0"
        out += [
            tag("GPS", "GPSAltitude", repr(abs(point.alt))),
            tag("GPS", "GPSAltitudeRef", below),
            tag("XMP-exif", "GPSAltitude", repr(abs(point.alt))),
            tag("XMP-exif", "GPSAltitudeRef", below),
        ]
    # movies: Apple's Keys entry and the ISO 6709 `©xyz` user data that phones write
    place = f"{point.lat!r}, {point.lng!r}" + (f", {point.alt!r}" if point.alt is not None else "")
    out += [
        tag("Keys", "GPSCoordinates", place, numeric=False),
        tag("UserData", "GPSCoordinates", place, numeric=False),
    ]
    return out


def signed_gps(numeric: Mapping[str, Any]) -> GeoPoint | None:
    """The file's position in signed decimal degrees, from `exiftool -n -G1` values.

    ExifTool's composite tags already combine EXIF coordinates with their refs; XMP keeps
    the sign itself; bare EXIF values are signed here from their refs.
    """
    for lat_key, lng_key in (
        ("Composite:GPSLatitude", "Composite:GPSLongitude"),
        ("XMP-exif:GPSLatitude", "XMP-exif:GPSLongitude"),
    ):
        lat, lng = _float(numeric.get(lat_key)), _float(numeric.get(lng_key))
        if lat is not None and lng is not None:
            return GeoPoint(lat=lat, lng=lng)
    lat, lng = _float(numeric.get("GPS:GPSLatitude")), _float(numeric.get("GPS:GPSLongitude"))
    if lat is None or lng is None:
        return None
    if str(numeric.get("GPS:GPSLatitudeRef", "N")).upper().startswith("S"):
        lat = -abs(lat)
    if str(numeric.get("GPS:GPSLongitudeRef", "E")).upper().startswith("W"):
        lng = -abs(lng)
    return GeoPoint(lat=lat, lng=lng)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
