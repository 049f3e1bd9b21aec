"""The privacy table: real tag names land in their category, presets and keep-lists parse;
the sensitive preset reaches what the table names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.media import exiftool, make_photo

from exif_service.domain.errors import BadRequest
from exif_service.domain.privacy import (
    Category,
    KeepRule,
    Preset,
    StripPlan,
    classify,
    parse_keep,
    parse_preset,
    strip_plan,
)
from exif_service.engine.exiftool import get_pool
from exif_service.engine.operations import strip_metadata

# (family-0 group, family-1 group, tag name) as `exiftool -a -G0:1` names them
EXAMPLES: dict[Category, list[tuple[str, str, str]]] = {
    Category.LOCATION: [
        ("EXIF", "GPS", "GPSLatitude"),
        ("EXIF", "GPS", "GPSAltitude"),
        ("XMP", "XMP-exif", "GPSLongitude"),
        ("QuickTime", "Keys", "GPSCoordinates"),
        ("QuickTime", "UserData", "GPSCoordinates"),
        ("XMP", "XMP-iptcExt", "LocationCreatedCity"),
        ("XMP", "XMP-photoshop", "City"),
        ("IPTC", "IPTC", "Province-State"),
        ("IPTC", "IPTC", "Country-PrimaryLocationName"),
        ("IPTC", "IPTC", "Sub-location"),
    ],
    Category.DEVICE: [
        ("EXIF", "ExifIFD", "SerialNumber"),
        ("EXIF", "ExifIFD", "LensSerialNumber"),
        ("EXIF", "ExifIFD", "BodySerialNumber"),
        ("EXIF", "ExifIFD", "OwnerName"),
        ("EXIF", "ExifIFD", "CameraOwnerName"),
        ("EXIF", "ExifIFD", "ImageUniqueID"),
        ("MakerNotes", "Canon", "InternalSerialNumber"),
        ("EXIF", "IFD0", "CameraSerialNumber"),
    ],
    Category.IDENTITY: [
        ("EXIF", "IFD0", "Artist"),
        ("EXIF", "IFD0", "Copyright"),
        ("IPTC", "IPTC", "By-line"),
        ("IPTC", "IPTC", "CopyrightNotice"),
        ("IPTC", "IPTC", "Credit"),
        ("XMP", "XMP-dc", "Creator"),
        ("XMP", "XMP-dc", "Rights"),
        ("XMP", "XMP-plus", "LicensorName"),
        ("XMP", "XMP-iptcCore", "CreatorWorkEmail"),
        ("PDF", "PDF", "Author"),
        ("QuickTime", "Keys", "Author"),
    ],
    Category.PEOPLE: [
        ("XMP", "XMP-iptcExt", "PersonInImage"),
        ("XMP", "XMP-mwg-rs", "RegionName"),
        ("XMP", "XMP-mwg-rs", "RegionType"),
        ("XMP", "XMP-MP", "RegionPersonDisplayName"),
        ("MakerNotes", "Canon", "FacesDetected"),
    ],
    Category.TIME: [
        ("EXIF", "ExifIFD", "DateTimeOriginal"),
        ("EXIF", "ExifIFD", "CreateDate"),
        ("EXIF", "ExifIFD", "OffsetTimeOriginal"),
        ("EXIF", "GPS", "GPSDateStamp"),
        ("EXIF", "GPS", "GPSTimeStamp"),
        ("IPTC", "IPTC", "DateCreated"),
        ("XMP", "XMP-xmp", "MetadataDate"),
        ("QuickTime", "Track1", "MediaCreateDate"),
    ],
    Category.HISTORY: [
        ("EXIF", "IFD0", "Software"),
        ("XMP", "XMP-xmp", "CreatorTool"),
        ("XMP", "XMP-xmpMM", "HistoryAction"),
        ("XMP", "XMP-xmpMM", "HistorySoftwareAgent"),
        ("XMP", "XMP-xmpMM", "DerivedFromDocumentID"),
        ("XMP", "XMP-xmpMM", "DocumentID"),
        ("XMP", "XMP-xmpMM", "InstanceID"),
        ("Photoshop", "Photoshop", "DocumentAncestors"),
        ("PDF", "PDF", "Producer"),
        ("QuickTime", "ItemList", "Encoder"),
    ],
    Category.EMBEDDED: [
        ("EXIF", "IFD1", "ThumbnailImage"),
        ("EXIF", "IFD1", "ThumbnailOffset"),  # how the engine's reads (-e) see a thumbnail
        ("MakerNotes", "Canon", "PreviewImageStart"),
        ("MakerNotes", "Canon", "PreviewImage"),
        ("EXIF", "SubIFD", "JpgFromRaw"),
        ("MPF", "MPImage2", "MPImage2"),
        ("Photoshop", "Photoshop", "PhotoshopThumbnail"),
    ],
    Category.FREE_TEXT: [
        ("PNG", "PNG", "Comment"),
        ("File", "File", "Comment"),  # a JPEG's COM segment
        ("EXIF", "ExifIFD", "UserComment"),
        ("EXIF", "IFD0", "ImageDescription"),
        ("EXIF", "IFD0", "XPComment"),
        ("XMP", "XMP-dc", "Description"),
        ("IPTC", "IPTC", "Caption-Abstract"),
        ("IPTC", "IPTC", "Headline"),
        ("PDF", "PDF", "Subject"),
    ],
    # a C2PA manifest, whatever ExifTool decodes it into (family 1 varies, family 0 is JUMBF)
    Category.PROVENANCE: [
        ("JUMBF", "JUMBF", "JUMDLabel"),
        ("JUMBF", "CBOR", "Title"),  # not free text: part of the signed manifest
        ("JUMBF", "CBOR", "InstanceID"),  # not history: the manifest goes whole
        ("JUMBF", "Jpeg2000", "C2PAThumbnailClaimData"),
    ],
}


@pytest.mark.parametrize("category", list(Category), ids=[c.value for c in Category])
def test_each_category_takes_its_real_tag_names(category: Category) -> None:
    for group0, group1, name in EXAMPLES[category]:
        rule = classify(group0, group1, name)
        assert rule is not None, name
        assert rule.category is category, f"{group1}:{name} -> {rule.category}"
        assert rule.why


@pytest.mark.parametrize(
    ("group0", "group1", "name"),
    [
        ("EXIF", "IFD0", "Orientation"),
        ("EXIF", "ExifIFD", "FNumber"),
        ("EXIF", "ExifIFD", "ExposureTime"),
        ("EXIF", "IFD0", "Make"),
        ("ICC_Profile", "ICC_Profile", "ProfileDescription"),
        ("XMP", "XMP-dc", "Subject"),  # keywords, not a description
        ("XMP", "XMP-dc", "Title"),
        ("File", "System", "FileModifyDate"),  # the server's file, not the picture
        ("Composite", "Composite", "GPSPosition"),  # computed from the GPS tags it repeats
    ],
)
def test_tags_that_say_nothing_about_anyone_are_not_findings(
    group0: str, group1: str, name: str
) -> None:
    assert classify(group0, group1, name) is None


def test_presets_parse_with_the_earlier_alias_and_name_a_bad_one() -> None:
    assert parse_preset(None) is Preset.SAFE
    assert parse_preset(" Location ") is Preset.LOCATION
    assert parse_preset("none") is Preset.ALL
    with pytest.raises(BadRequest, match="'everything'"):
        parse_preset("everything")


def test_keep_lists_take_tags_groups_and_whole_groups_and_name_a_bad_item() -> None:
    rules = parse_keep("Artist, XMP-dc:Creator,IPTC:all")
    assert rules == (
        KeepRule(None, "Artist"),
        KeepRule("XMP-dc", "Creator"),
        KeepRule("IPTC", "all"),
    )
    assert rules[2].matches("IPTC", "IPTC", "By-line")
    assert rules[1].matches("XMP", "XMP-dc", "Creator")
    assert not rules[1].matches("EXIF", "IFD0", "Creator")
    for bad in ("-all", "Artist;rm", "all", "a:b:c", "Group:", "x" * 200):
        with pytest.raises(BadRequest, match="Invalid keep item"):
            parse_keep(bad)


def test_keep_safe_and_none_still_mean_the_presets() -> None:
    assert strip_plan(None, "none") == StripPlan(Preset.ALL)
    assert strip_plan(None, "safe") == StripPlan(Preset.SAFE)
    assert strip_plan("location", "Artist") == StripPlan(
        Preset.LOCATION, (KeepRule(None, "Artist"),)
    )


def test_sensitive_keeps_authorship_settings_and_dates_but_not_location_or_serials() -> None:
    plan = StripPlan(Preset.SENSITIVE)
    assert plan.removes("EXIF", "GPS", "GPSLatitude")
    assert plan.removes("EXIF", "ExifIFD", "SerialNumber")
    assert plan.removes("XMP", "XMP-xmpMM", "HistoryAction")
    assert not plan.removes("EXIF", "IFD0", "Artist")
    assert not plan.removes("EXIF", "ExifIFD", "DateTimeOriginal")
    assert not plan.removes("EXIF", "ExifIFD", "FNumber")
    kept = StripPlan(Preset.SENSITIVE, parse_keep("GPS:all"))
    assert not kept.removes("EXIF", "GPS", "GPSLatitude")


def test_sensitive_strip_removes_the_thumbnail_and_the_jpeg_comment(tmp_path: Path) -> None:
    """The thumbnail shows in -e reads only as its offset; the COM comment is in File."""
    src = make_photo(tmp_path / "in.jpg")
    dst = tmp_path / "out.jpg"
    strip_metadata(get_pool(), src, dst, StripPlan(Preset.SENSITIVE))
    tags = json.loads(exiftool("-j", "-a", "-G1", str(dst)))[0]
    assert not [k for k in tags if "Thumbnail" in k or k.startswith("IFD1:")]
    assert "File:Comment" not in tags
    assert tags["IFD0:Artist"] == "Jane Doe"
