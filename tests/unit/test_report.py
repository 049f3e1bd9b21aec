"""The canonical report: everything `exiftool -j -G` says about the file, nothing about us."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.media import exiftool, make_photo, make_png

from exif_service.api.v1.schemas import present_metadata
from exif_service.domain.report import MetadataReport, build_report
from exif_service.engine.exiftool import ExifToolPool
from exif_service.engine.operations import read_metadata
from exif_service.settings import get_settings

# Tags `exiftool -j -G` shows that describe the server's copy, not the caller's file.
SERVER_ONLY = {
    "SourceFile",
    "File:Directory",
    "File:FileModifyDate",
    "File:FileAccessDate",
    "File:FileInodeChangeDate",
    "File:FilePermissions",
}


@pytest.fixture(scope="module")
def pool() -> Iterator[ExifToolPool]:
    settings = get_settings()
    pool = ExifToolPool(settings.perl_path, settings.exiftool_path, size=1, timeout=30.0)
    pool.start(settings.exiftool_min_version)
    yield pool
    pool.close()


def _flat(report: MetadataReport) -> dict[str, Any]:
    return {
        f"{group}:{tag}": value
        for group, tags in report.groups.items()
        for tag, value in tags.items()
    }


def _expected(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("(Binary data ") and "use -b" in value:
        return value.split(",", 1)[0] + ")"
    return value


@pytest.mark.parametrize("maker", [make_photo, make_png], ids=["jpeg", "png"])
def test_report_has_every_tag_exiftool_reports_with_the_same_value(
    pool: ExifToolPool, tmp_path: Path, maker: Any
) -> None:
    path = maker(tmp_path / ("rich.jpg" if maker is make_photo else "rich.png"))
    direct = json.loads(exiftool("-j", "-G", str(path)))[0]
    ours = _flat(read_metadata(pool, path, file_name="holiday.jpg"))
    for key, value in direct.items():
        if key in SERVER_ONLY or key == "File:FileName":
            continue
        assert key in ours, f"{key} missing from the report"
        assert ours[key] == _expected(value), key
    assert ours["File:FileName"] == "holiday.jpg"


def test_binary_blobs_are_summarised_with_their_size(pool: ExifToolPool, tmp_path: Path) -> None:
    report = read_metadata(pool, make_photo(tmp_path / "p.jpg"), file_name="p.jpg")
    thumb = report.get("EXIF", "ThumbnailImage")
    assert thumb.startswith("(Binary data ") and thumb.endswith(" bytes)")
    assert int(thumb.split()[2]) > 100


def test_report_shows_no_server_path_temp_name_or_file_system_detail(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    work = tmp_path / "exs-secret-workdir"
    work.mkdir()
    path = make_photo(work / "input.jpg")
    report = read_metadata(pool, path, file_name="holiday.jpg")
    text = json.dumps(report.to_dict()) + json.dumps(present_metadata(report))
    assert str(work) not in text
    assert "exs-secret-workdir" not in text
    assert "input.jpg" not in text
    file_group = report.groups["File"]
    for tag in (
        "Directory",
        "FilePermissions",
        "FileModifyDate",
        "FileAccessDate",
        "FileInodeChangeDate",
    ):
        assert tag not in file_group


def test_v1_file_group_carries_callers_name_size_in_bytes_and_mime(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    path = make_photo(tmp_path / "input.jpg")
    metadata = present_metadata(read_metadata(pool, path, file_name="IMG_0001.JPG"))
    assert metadata["File"]["Name"] == "IMG_0001.JPG"
    assert metadata["File"]["Size"] == path.stat().st_size
    assert metadata["File"]["Type"] == "image/jpeg"
    assert metadata["File"]["ImageWidth"] == 320


def test_v1_lowercases_exif_iptc_xmp_and_keeps_other_group_names(
    pool: ExifToolPool, tmp_path: Path
) -> None:
    metadata = present_metadata(
        read_metadata(pool, make_photo(tmp_path / "p.jpg"), file_name="p.jpg")
    )
    assert metadata["exif"]["Model"] == "Canon EOS R5"
    assert metadata["iptc"]["By-line"] == "Jane Doe"
    assert metadata["xmp"]["Title"] == "Paris"
    assert {"File", "Composite", "ICC_Profile"} <= set(metadata)
    assert not {"EXIF", "IPTC", "XMP"} & set(metadata)


def test_server_path_inside_a_value_is_replaced_by_the_callers_name() -> None:
    raw = {
        "SourceFile": "/tmp/exs-1/input.jpg",
        "File:FileName": "input.jpg",
        "File:Directory": "/tmp/exs-1",
        "File:MIMEType": "image/jpeg",
        "ExifTool:Warning": "Bad thing in /tmp/exs-1/input.jpg",
    }
    report = build_report(raw, file_name="me.jpg", size=10, server_path="/tmp/exs-1/input.jpg")
    assert report.groups["ExifTool"]["Warning"] == "Bad thing in me.jpg"
    assert report.groups["File"] == {"FileName": "me.jpg", "MIMEType": "image/jpeg"}


def test_report_round_trips_through_its_stored_form(pool: ExifToolPool, tmp_path: Path) -> None:
    report = read_metadata(pool, make_photo(tmp_path / "p.jpg"), file_name="p.jpg")
    again = MetadataReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report


def test_structured_xmp_is_scrubbed_kept_and_stored_only_when_it_differs() -> None:
    server = "/tmp/exs-1/input.jpg"
    flat = {"SourceFile": server, "File:MIMEType": "image/jpeg", "XMP:HistoryAction": "saved"}
    nested = {
        "SourceFile": server,
        "XMP:History": [{"Action": "saved", "Changed": f"copied from {server}"}],
    }
    report = build_report(flat, file_name="me.jpg", size=1, server_path=server)
    scrubbed = build_report(nested, file_name="me.jpg", size=1, server_path=server)
    both = report.with_structured_xmp(scrubbed.groups["XMP"])
    history = [{"Action": "saved", "Changed": "copied from me.jpg"}]
    assert both.structured().groups["XMP"] == {"History": history}
    assert both.groups == report.groups  # the default form is untouched
    assert MetadataReport.from_dict(json.loads(json.dumps(both.to_dict()))) == both
    same = report.with_structured_xmp(report.groups["XMP"])
    assert same.to_dict() == report.to_dict() and "structuredXmp" not in same.to_dict()
    assert same.structured() == report
