"""The split of one `-j -G -D -api struct=2` record into the flat and the structured reading,
and every doubt that makes it stand back (tests/integration/test_single_read.py holds it
against ExifTool's own two reads)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from exif_service.domain.structures import split_read


def tag(ident: Any, val: Any) -> dict[str, Any]:
    return {"id": ident, "val": val}


HISTORY = [{"Action": "created", "When": "2024:01:01"}, {"Action": "saved"}]
RECORD: dict[str, Any] = {
    "SourceFile": "/tmp/x.jpg",
    "File:FileType": tag("FileType", "JPEG"),
    "EXIF:Flash": tag(37385, "Fired"),
    "IPTC:Keywords": tag(25, ["a", "b"]),
    "XMP:Creator": tag("creator", ["Me"]),
    "XMP:History": tag("History", HISTORY),
    "XMP:HistoryAction": tag("HistoryAction", ["created", "saved"]),
    "XMP:HistoryWhen": tag("HistoryWhen", "2024:01:01"),
    "XMP:Subject": tag("subject", ["one", "two"]),
    "XMP:Title-de": tag("title-de", "Titel"),
    "XMP:RegionInfo": tag("Regions", {"RegionList": [{"Name": "Face"}, {"Name": "Pet"}]}),
    "XMP:RegionName": tag("RegionsRegionListName", ["Face", "Pet"]),
    "Composite:ImageSize": tag("ImageSize", "64x48"),
}


def with_changes(**changes: Any) -> dict[str, Any]:
    """RECORD with tags added, replaced or (None) removed; `A__B` names the key `A:B`."""
    record = copy.deepcopy(RECORD)
    for key, value in changes.items():
        name = key.replace("__", ":")
        if value is None:
            del record[name]
        else:
            record[name] = value
    return record


def test_structures_go_to_the_structured_form_and_their_fields_to_the_flat_one() -> None:
    split = split_read(RECORD)
    assert split is not None
    assert split.flat == {
        "SourceFile": "/tmp/x.jpg",
        "File:FileType": "JPEG",
        "EXIF:Flash": "Fired",
        "IPTC:Keywords": ["a", "b"],
        "XMP:Creator": "Me",  # a list of one reads as its item in the flat form
        "XMP:HistoryAction": ["created", "saved"],
        "XMP:HistoryWhen": "2024:01:01",
        "XMP:Subject": ["one", "two"],
        "XMP:Title-de": "Titel",
        "XMP:RegionName": ["Face", "Pet"],
        "Composite:ImageSize": "64x48",
    }
    assert list(split.flat) == [k for k in RECORD if k not in ("XMP:History", "XMP:RegionInfo")]
    assert split.structured_xmp == {
        "XMP:Creator": ["Me"],
        "XMP:History": HISTORY,
        "XMP:Subject": ["one", "two"],
        "XMP:Title-de": "Titel",
        "XMP:RegionInfo": {"RegionList": [{"Name": "Face"}, {"Name": "Pet"}]},
    }


def test_a_file_without_xmp_has_no_structured_form() -> None:
    record = {k: v for k, v in RECORD.items() if not k.startswith("XMP:")}
    split = split_read(record)
    assert split is not None
    assert split.structured_xmp is None
    assert split.flat["IPTC:Keywords"] == ["a", "b"]


@pytest.mark.parametrize(
    "record",
    [
        # a tag whose id continues a structure's id with one of its field names
        with_changes(XMP__HistoryActionAt=tag("HistoryActionAt", "x")),
        # a field printed ahead of its structure
        {k: RECORD[k] for k in sorted(RECORD, key=lambda k: k != "XMP:HistoryWhen")},
        # a duplicate hidden behind a field, or behind a structure
        with_changes(XMP__Copy1__HistoryWhen=tag("HistoryWhen", "2020:01:01")),
        with_changes(XMP__Copy1__History=tag("History", "text")),
        # XMP duplicates none of which has priority (it went to another group)
        with_changes(
            EXIF__Rating=tag(18246, 3),
            XMP__Copy1__Rating=tag("Rating", 3),
            XMP__Copy2__Rating=tag("Rating", 4),
        ),
        # a group name that is no copy number
        with_changes(XMP__Other__Title=tag("title", "x")),
        # a field holding fewer values than its structure has leaves
        with_changes(XMP__HistoryAction=tag("HistoryAction", "created")),
        # a field of one value printed as a list
        with_changes(XMP__HistoryWhen=tag("HistoryWhen", ["2024:01:01"])),
        # a structure's leaf without its flattened tag
        with_changes(XMP__RegionName=None),
        # two tags for one field path
        with_changes(XMP__RegionLabel=tag("RegionsRegionListName", ["Face", "Pet"])),
        # an object outside XMP (JSON, property lists and others build their own)
        with_changes(MakerNotes__RunTime=tag("RunTime", {"Epoch": 1})),
        with_changes(EXIF__Odd=tag(1, [["a"]])),
        # objects in JUMBF mixed with values in one list, or sharing a name with a tag
        with_changes(JUMBF__Items=tag("items", [{"a": 1}, "b"])),
        with_changes(JUMBF__Title=tag("title", {"a": 1}), JUMBF__Copy1__Title=tag("title", "t")),
        with_changes(JUMBF__Title=tag("title", {"a": 1}), EXIF__Title=tag(1, "t")),
        # ExifTool warned or failed
        with_changes(ExifTool__Warning=tag("Warning", "List is not a structure!")),
        with_changes(ExifTool__Error=tag("Error", "File format error")),
        # lists the flat form may print otherwise
        with_changes(XMP__Subject=tag("subject", [])),
        with_changes(XMP__Matrix=tag("matrix", [["a", "b"]])),
        # an empty structure, a structure without an id, a tag not in `-D` form
        with_changes(XMP__DerivedFrom=tag("DerivedFrom", {})),
        with_changes(XMP__History=tag(None, HISTORY)),
        with_changes(XMP__Title="plain"),
        # a field name ExifTool would not put in a flattened id
        with_changes(XMP__Thing=tag("z:thing", {"ns:odd": "x"})),
    ],
)
def test_split_stands_back_when_it_cannot_account_for_every_tag(record: dict[str, Any]) -> None:
    assert split_read(record) is None


def test_nesting_far_past_any_real_xmp_is_not_walked() -> None:
    value: Any = "x"
    for _ in range(10_000):
        value = {"A": value}
    record = with_changes(XMP__Deep=tag("z:t", value), XMP__DeepLeaf=tag("z:t" + "A" * 10_000, "x"))
    assert split_read(record) is None


def test_a_structure_nested_within_reach_splits() -> None:
    value: Any = "x"
    for _ in range(20):
        value = {"A": value}
    record = with_changes(XMP__Deep=tag("z:t", value), XMP__DeepLeaf=tag("z:t" + "A" * 20, "x"))
    split = split_read(record)
    assert split is not None
    assert split.flat["XMP:DeepLeaf"] == "x"
    assert split.structured_xmp is not None and "XMP:DeepLeaf" not in split.structured_xmp


def test_duplicates_keep_the_ones_the_flat_read_prints() -> None:
    record = with_changes(
        # the GPS position has priority in Composite: the EXIF one is a copy, printed in EXIF
        Composite__GPSLatitude=tag("GPSLatitude", "48 deg N"),
        EXIF__Copy1__GPSLatitude=tag(2, "48 deg"),
        # a copy in the group of the tag with priority is not printed, in either form
        XMP__Rating=tag("Rating", 3),
        XMP__Copy1__Rating=tag("Rating", 5),
        # a lone XMP copy (the EXIF flash has priority) is the XMP group's own
        XMP__Copy1__Flash=tag("Flash", {"Fired": True}),
        XMP__FlashFired=tag("FlashFired", True),
    )
    split = split_read(record)
    assert split is not None and split.structured_xmp is not None
    assert split.flat["EXIF:GPSLatitude"] == "48 deg"
    assert split.flat["Composite:GPSLatitude"] == "48 deg N"
    assert split.flat["XMP:Rating"] == split.structured_xmp["XMP:Rating"] == 3
    assert split.structured_xmp["XMP:Flash"] == {"Fired": True}
    assert split.flat["XMP:FlashFired"] is True and "XMP:Flash" not in split.flat
    assert not any("Copy" in key for key in [*split.flat, *split.structured_xmp])


def test_a_tag_that_only_starts_like_a_structure_is_a_tag_of_its_own() -> None:
    record = with_changes(
        XMP__Flash=tag("Flash", {"Fired": True}),
        XMP__FlashFired=tag("FlashFired", True),
        XMP__FlashpixVersion=tag("FlashpixVersion", "0100"),
    )
    split = split_read(record)
    assert split is not None and split.structured_xmp is not None
    assert split.flat["XMP:FlashpixVersion"] == split.structured_xmp["XMP:FlashpixVersion"]


def test_jumbf_objects_are_left_out_beside_their_flattened_fields() -> None:
    record = with_changes(
        JUMBF__Actions=tag("actions", {"Action": "created", "Agent": {"Name": "x"}}),
        JUMBF__ActionsAction=tag("actionsAction", "created"),
        JUMBF__ActionsAgent=tag("actionsAgent", {"Name": "x"}),
        JUMBF__ActionsAgentName=tag("actionsAgentName", "x"),
        JUMBF__Assertions=tag("assertions", [{"Url": "a"}, {"Url": "b"}]),
        JUMBF__AssertionsUrl=tag("assertionsUrl", ["a", "b"]),
    )
    split = split_read(record)
    assert split is not None
    jumbf = {k: v for k, v in split.flat.items() if k.startswith("JUMBF:")}
    assert jumbf == {
        "JUMBF:ActionsAction": "created",
        "JUMBF:ActionsAgentName": "x",
        "JUMBF:AssertionsUrl": ["a", "b"],
    }


def test_a_warning_on_a_file_without_xmp_is_kept_in_the_flat_form() -> None:
    record = {k: v for k, v in RECORD.items() if not k.startswith("XMP:")}
    record["ExifTool:Warning"] = tag("Warning", "Bad IFD0 directory")
    split = split_read(record)
    assert split is not None
    assert split.flat["ExifTool:Warning"] == "Bad IFD0 directory"
