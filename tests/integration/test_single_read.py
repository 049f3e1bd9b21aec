"""One ExifTool read per v1 extract: `read_metadata(structures=True)` splits one
`-api struct=2` read (domain/structures.py) into the flat report and the structured XMP, and
the result is exactly what the flat read plus the XMP-only `-struct` read gave, on every format
the service reads, the bench's corpora, signed files and XMP full of structures; where the
split cannot vouch for a file, the two reads are taken again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from bench.__main__ import make_corpus
from bench.corpus import camera_corpus
from tests.support.media import (
    FIXTURES,
    PRIVACY_MOVIE,
    PRIVACY_STILL,
    XMP_TAIL,
    exiftool,
    jpeg_with_segments,
    make_bare,
    make_photo,
    make_png,
    xmp_segment,
)
from tests.support.provenance import (
    ai_image,
    captured_image,
    edited_after_signing,
    iptc_only_ai,
)

from exif_service.domain.errors import FileTooComplex
from exif_service.domain.report import MetadataReport
from exif_service.domain.structures import SPLIT_READ_ARGS, split_read
from exif_service.engine.exiftool import ExifToolPool, ExifToolResult, get_pool
from exif_service.engine.operations import _read_json, _read_twice, read_metadata

# Structures of every kind the brief of this path names: lists of structures (History,
# LocationShown, regions), one structure (DerivedFrom, CreatorContactInfo, Flash beside an EXIF
# Flash of the same bare name), structures in structures (RegionInfo, PersonInImageWDetails),
# lists inside structures (AOCreator, PersonId), lang-alt fields and tags, one-item and
# many-item lists, hierarchical keywords.
STRUCTURES = (
    "-EXIF:Flash=Fired",
    "-XMP-exif:Flash={Fired=True,Return=No return detection,Mode=On,Function=False,"
    "RedEyeMode=False}",
    "-XMP-xmpMM:History+={Action=created,When=2024:03:15 10:30:00,SoftwareAgent=Tests 1.0}",
    "-XMP-xmpMM:History+={Action=saved,When=2024:03:16 09:00:00,Changed=/metadata}",
    "-XMP-xmpMM:DerivedFrom={DocumentID=xmp.did:0001,InstanceID=xmp.iid:0002}",
    "-XMP-iptcExt:LocationShown+={City=Paris,CountryName=France,Sublocation=Louvre}",
    "-XMP-iptcExt:LocationShown+={City=Oslo}",
    "-XMP-iptcExt:LocationCreated={City=Bergen,LocationName=Bergen,LocationName-de=Bergen DE}",
    "-XMP-iptcExt:ArtworkOrObject={AOTitle=Mona Lisa,AOCreator=[Leonardo da Vinci,Someone],"
    "AODateCreated=1503:01:01}",
    "-XMP-iptcExt:PersonInImageWDetails={PersonName=Bob,PersonId=[id1],"
    "PersonCharacteristic=[{CvTermName=tall}]}",
    "-XMP-iptcExt:PersonInImage=Solo",
    "-XMP-iptcCore:CreatorContactInfo={CiAdrCity=Oslo,CiEmailWork=a@b.c}",
    "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=100,H=80,Unit=pixel},RegionList=["
    "{Area={X=0.5,Y=0.5,W=0.1,H=0.1,Unit=normalized},Name=Face,Type=Face},"
    "{Area={X=0.2,Y=0.3,W=0.1,H=0.1,Unit=normalized},Name=Pet,Type=Pet}]}",
    "-XMP-lr:HierarchicalSubject=places|Norway|Oslo",
    "-XMP-lr:HierarchicalSubject=people|Bob",
    "-XMP-dc:Title=Title",
    "-XMP-dc:Title-de=Titel",
    "-XMP-dc:Title-fr=Titre",
    "-XMP-dc:Creator=Me",
    "-XMP-dc:Subject=one",
    "-XMP-dc:Subject=two",
    "-XMP-dc:Contributor=only",
    # ids that start with a structure's (Flash) but continue with none of its fields
    "-XMP-exif:FlashpixVersion=0100",
    "-XMP-aux:FlashCompensation=0",
    "-IPTC:Keywords=solo",
)
KINDS = [
    "jpeg",
    "png",
    "png-alpha",
    "webp",
    "gif",
    "tiff",
    "avif",
    "heic",
    "dng",
    "nef",
    "pdf",
    "mp4",
    "mov",
]

# Hand-made XMP packets: shapes ExifTool's writer would not produce, as other software does.
PACKET_HEAD = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:z="http://example.com/z/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
    b'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#" '
    b'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
)
NESTED = b'<z:a rdf:parseType="Resource">'
PACKETS = {
    "empty-structure": b'<xmpMM:DerivedFrom rdf:parseType="Resource"/>',
    "empty-description": b"<xmpMM:DerivedFrom><rdf:Description/></xmpMM:DerivedFrom>",
    "empty-bag": b"<dc:subject><rdf:Bag/></dc:subject>",
    "empty-list-of-structures": b"<xmpMM:History><rdf:Seq/></xmpMM:History>",
    "empty-item": b"<dc:subject><rdf:Bag><rdf:li/></rdf:Bag></dc:subject>",
    "empty-field": b'<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">'
    b"<Iptc4xmpExt:City></Iptc4xmpExt:City></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>",
    "structure-as-text": b"<xmpMM:DerivedFrom>just text</xmpMM:DerivedFrom>",
    "custom-namespace": b'<z:thing rdf:parseType="Resource"><z:a>1</z:a><z:b>2</z:b></z:thing>',
    "custom-nested": b'<z:thing rdf:parseType="Resource"><z:a rdf:parseType="Resource">'
    b"<z:b>x</z:b></z:a></z:thing><z:other>y</z:other>",
    "unknown-field": b'<xmpMM:DerivedFrom rdf:parseType="Resource"><stRef:documentID>d'
    b"</stRef:documentID><z:odd>o</z:odd></xmpMM:DerivedFrom>",
    "sparse-history": b'<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">'
    b'<stEvt:action>a</stEvt:action></rdf:li><rdf:li rdf:parseType="Resource">'
    b'<stEvt:when>2020-01-01</stEvt:when></rdf:li><rdf:li rdf:parseType="Resource">'
    b"<stEvt:action>c</stEvt:action></rdf:li></rdf:Seq></xmpMM:History>",
    "lang-alt-field": b'<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">'
    b'<Iptc4xmpExt:LocationName><rdf:Alt><rdf:li xml:lang="x-default">A</rdf:li>'
    b'<rdf:li xml:lang="de">B</rdf:li></rdf:Alt></Iptc4xmpExt:LocationName></rdf:li></rdf:Bag>'
    b"</Iptc4xmpExt:LocationShown>",
    "repeated-item": b"<dc:creator><rdf:Seq><rdf:li>x</rdf:li><rdf:li>x</rdf:li></rdf:Seq>"
    b"</dc:creator>",
    "numbers": b"<dc:subject><rdf:Bag><rdf:li>1</rdf:li></rdf:Bag></dc:subject><z:n>007</z:n>",
    "mixed-list": b'<z:list><rdf:Seq><rdf:li rdf:parseType="Resource"><z:n>1</z:n></rdf:li>'
    b"<rdf:li>plain</rdf:li></rdf:Seq></z:list>",
    "list-of-lists": b"<z:ll><rdf:Seq><rdf:li><rdf:Seq><rdf:li>a</rdf:li><rdf:li>b</rdf:li>"
    b"</rdf:Seq></rdf:li></rdf:Seq></z:ll>",
    "prefix-of-another-tag": b'<z:Flash rdf:parseType="Resource"><z:Fired>True</z:Fired>'
    b"</z:Flash><z:FlashComp>1</z:FlashComp>",
    "prefix-with-a-field-name": b'<z:Flash rdf:parseType="Resource"><z:Fired>True</z:Fired>'
    b"</z:Flash><z:FlashFiredAt>1</z:FlashFiredAt>",
    # a property named as a structure's flattened field: ExifTool reads both as one tag
    "field-named-property-after": b'<z:thing rdf:parseType="Resource"><z:a '
    b'rdf:parseType="Resource"><z:b>x</z:b></z:a></z:thing><z:thingAB>y</z:thingAB>',
    "field-named-property-before": b'<z:thingAB>y</z:thingAB><z:thing rdf:parseType="Resource">'
    b'<z:a rdf:parseType="Resource"><z:b>x</z:b></z:a></z:thing>',
    "field-named-list": b'<z:thing rdf:parseType="Resource"><z:a>1</z:a></z:thing><z:thingA>'
    b"<rdf:Bag><rdf:li>p</rdf:li><rdf:li>q</rdf:li></rdf:Bag></z:thingA>",
    "two-paths-one-id": b'<z:thing rdf:parseType="Resource"><z:aB>1</z:aB><z:a '
    b'rdf:parseType="Resource"><z:b>x</z:b></z:a></z:thing>',
    "odd-names": b'<z:a-b_c rdf:parseType="Resource"><z:x.y>1</z:x.y><z:\xc3\xa9t\xc3\xa9>2'
    b"</z:\xc3\xa9t\xc3\xa9></z:a-b_c>",
    "nested-80": b'<z:t rdf:parseType="Resource">' + NESTED * 80 + b"<z:v>x</z:v>"
    b"" + b"</z:a>" * 80 + b"</z:t>",
    "nested-300": b'<z:t rdf:parseType="Resource">' + NESTED * 300 + b"<z:v>x</z:v>"
    b"" + b"</z:a>" * 300 + b"</z:t>",
}
# Packets whose single read the split must not vouch for, and why.
UNSURE = {
    "mixed-list": "ExifTool warns that the list is not a structure",
    "list-of-lists": "a list of lists",
    "prefix-with-a-field-name": "a tag whose id continues a structure's with a field name",
    "field-named-property-after": "a duplicate of a field's name hidden by the field",
    "field-named-property-before": "a duplicate of a field's name hidden by the property",
    "field-named-list": "a duplicate of a field's name hidden by the field",
    "two-paths-one-id": "two tags of the one name two field paths make",
    "nested-80": "deeper than the split walks",
    "nested-300": "deeper than the split walks",
}


class CountingPool:
    """The real pool, counting the ExifTool commands a read takes."""

    def __init__(self, pool: ExifToolPool) -> None:
        self._pool = pool
        self.commands = 0

    def run(self, args: Sequence[str], timeout: float | None = None) -> ExifToolResult:
        self.commands += 1
        return self._pool.run(args, timeout)


def both_ways(path: Path) -> tuple[MetadataReport, MetadataReport, int]:
    """(the single read's report, the two reads' report, ExifTool commands of the single)."""
    counting = CountingPool(get_pool())
    new = read_metadata(cast(ExifToolPool, counting), path, file_name=path.name, structures=True)
    old = _read_twice(get_pool(), path, file_name=path.name)
    return new, old, counting.commands


def assert_same(new: MetadataReport, old: MetadataReport) -> None:
    """The same report, tag for tag and in the same order, structures field for field."""
    assert new.to_dict() == old.to_dict()
    assert list(new.groups) == list(old.groups)
    for group, tags in old.groups.items():
        # a fresh ExifTool process orders its Composite tags otherwise than later reads do
        if group != "Composite":
            assert list(new.groups[group]) == list(tags), group
    assert json.dumps(new.structured_xmp) == json.dumps(old.structured_xmp)


def split_of(path: Path) -> Any:
    return split_read(_read_json(get_pool(), list(SPLIT_READ_ARGS), path))


def with_structures(path: Path) -> Path:
    exiftool("-q", "-overwrite_original", *STRUCTURES, str(path))
    return path


# every format, with and without structures


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("blank.*")))
def test_committed_fixture_reads_once_and_the_same(fixture: str) -> None:
    new, old, commands = both_ways(FIXTURES / fixture)
    assert_same(new, old)
    assert commands == 1


@pytest.mark.parametrize("kind", KINDS)
def test_structures_in_each_format_read_once_and_the_same(kind: str, tmp_path: Path) -> None:
    path = with_structures(make_bare(kind, tmp_path / f"structured.{kind.split('-')[0]}"))
    new, old, commands = both_ways(path)
    assert_same(new, old)
    assert commands == 1
    structured = new.structured()
    # the structures really are there, and the flat form kept their fields instead
    assert structured.get("XMP", "History")[1]["Changed"] == "/metadata"
    assert structured.get("XMP", "RegionInfo")["RegionList"][1]["Name"] == "Pet"
    assert structured.get("XMP", "Creator") == ["Me"]
    assert new.get("XMP", "Creator") == "Me"
    assert new.get("XMP", "RegionName") == ["Face", "Pet"]
    assert new.get("XMP", "History") is None
    assert new.get("XMP", "Title-de") == "Titel"


@pytest.mark.parametrize("kind", KINDS)
def test_bare_file_of_each_format_reads_once_and_the_same(kind: str, tmp_path: Path) -> None:
    new, old, commands = both_ways(make_bare(kind, tmp_path / f"bare.{kind.split('-')[0]}"))
    assert_same(new, old)
    assert commands == 1


def test_structured_reading_is_what_the_users_own_exiftool_prints(tmp_path: Path) -> None:
    path = with_structures(make_bare("jpeg", tmp_path / "mine.jpg"))
    report = read_metadata(get_pool(), path, file_name="mine.jpg", structures=True)

    def own(*options: str) -> dict[str, Any]:
        record = json.loads(exiftool("-j", "-G", *options, "-XMP:all", str(path)))[0]
        return {k.removeprefix("XMP:"): v for k, v in record.items() if k.startswith("XMP:")}

    assert json.dumps(dict(report.groups["XMP"])) == json.dumps(own())
    assert json.dumps(dict(report.structured().groups["XMP"])) == json.dumps(own("-struct"))


# the test suites' own sample files


def test_suite_samples_read_once_and_the_same(tmp_path: Path) -> None:
    still = make_bare("jpeg", tmp_path / "privacy.jpg")
    exiftool("-q", "-overwrite_original", *PRIVACY_STILL, str(still))
    movie = make_bare("mp4", tmp_path / "privacy.mp4")
    exiftool("-q", "-overwrite_original", *PRIVACY_MOVIE, "-Keys:Keywords=one", str(movie))
    keywords = make_bare("jpeg", tmp_path / "keywords.jpg")
    exiftool("-q", "-overwrite_original", "-IPTC:Keywords=a", "-IPTC:Keywords=b", str(keywords))
    samples = [make_photo(tmp_path / "photo.jpg"), make_png(tmp_path / "a.png")]
    for path in [*samples, still, movie, keywords]:
        new, old, commands = both_ways(path)
        assert_same(new, old)
        assert commands == 1, path.name


def test_content_credentials_read_once_and_the_same(tmp_path: Path) -> None:
    # the manifest's assertions are objects in this mode too (JUMBF), beside their fields
    signed = [ai_image(tmp_path), captured_image(tmp_path), edited_after_signing(tmp_path)]
    for path in [*signed, iptc_only_ai(tmp_path)]:
        new, old, commands = both_ways(path)
        assert_same(new, old)
        assert commands == 1, path.name
    report = read_metadata(get_pool(), signed[0], file_name="ai.jpg", structures=True)
    assert report.content_credentials is not None
    assert report.get("JUMBF", "ActionsSoftwareAgentName")
    assert report.get("JUMBF", "Actions") is None


# the bench's corpora


def test_bench_corpus_reads_once_and_the_same(tmp_path: Path) -> None:
    files = make_corpus(tmp_path, 8)
    assert {p.suffix for p in files} == {".jpg", ".png"}
    for path in files:
        new, old, commands = both_ways(path)
        assert_same(new, old)
        assert commands == 1, path.name


def test_camera_corpus_reads_once_and_the_same(tmp_path: Path) -> None:
    for path in camera_corpus(2, root=tmp_path):
        new, old, commands = both_ways(path)
        assert_same(new, old)
        assert commands == 1, path.name
        assert len(new.structured().get("XMP", "History")) == 3


# XMP as other software writes it, hostile shapes included


@pytest.mark.parametrize("name", list(PACKETS))
def test_hand_made_xmp_reads_the_same_once_or_twice(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(jpeg_with_segments(xmp_segment(PACKET_HEAD + PACKETS[name] + XMP_TAIL)))
    new, old, commands = both_ways(path)
    assert_same(new, old)
    if name in UNSURE:
        assert split_of(path) is None, UNSURE[name]
        assert commands == 3  # the one read, then the flat and the XMP-only reads as before
    else:
        assert commands == 1


def test_a_report_the_split_would_get_wrong_is_read_twice(tmp_path: Path) -> None:
    # in this mode ExifTool reads the mixed list as ["", "plain"], where the flat read says
    # "plain", and warns: the split stands back and the report is the flat read's
    packet = PACKET_HEAD + PACKETS["mixed-list"] + XMP_TAIL
    path = tmp_path / "mixed.jpg"
    path.write_bytes(jpeg_with_segments(xmp_segment(packet)))
    report = read_metadata(get_pool(), path, file_name="mixed.jpg", structures=True)
    assert report.get("XMP", "List") == "plain"
    assert report.get("XMP", "ListN") == 1


def test_any_warning_takes_the_two_reads_as_it_may_hide_the_structure_warning(
    tmp_path: Path,
) -> None:
    # ExifTool prints only the first warning: here a namespace it fixed, ahead of the mixed
    # list's "not a structure", so the one read shows no sign of the value it changed
    head = PACKET_HEAD.replace(
        b"http://ns.adobe.com/xap/1.0/mm/", b"http://ns.adobe.com/xap/1.0/mm"
    )
    packet = head + b"<xmpMM:DocumentID>d</xmpMM:DocumentID>" + PACKETS["mixed-list"] + XMP_TAIL
    path = tmp_path / "warned.jpg"
    path.write_bytes(jpeg_with_segments(xmp_segment(packet)))
    new, old, commands = both_ways(path)
    assert_same(new, old)
    assert new.get("ExifTool", "Warning") == "[minor] Fixed incorrect URI for xmlns:xmpMM"
    assert new.get("XMP", "List") == "plain"
    assert commands == 3


def test_a_warning_on_a_file_without_xmp_still_reads_once(tmp_path: Path) -> None:
    # an EXIF directory of five entries cut off after its count
    exif = b"Exif\0\0II*\0\x08\0\0\0\x05\0"
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_with_segments(b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif))
    new, old, commands = both_ways(path)
    assert_same(new, old)
    assert new.get("ExifTool", "Warning") == "Bad IFD0 directory"
    assert "XMP" not in new.groups
    assert commands == 1


def test_structures_nested_past_the_json_decoder_are_refused_clearly(tmp_path: Path) -> None:
    packet = PACKET_HEAD + b'<z:t rdf:parseType="Resource">' + NESTED * 1200 + b"<z:v>x</z:v>"
    packet += b"</z:a>" * 1200 + b"</z:t>" + XMP_TAIL
    path = tmp_path / "deep.jpg"
    path.write_bytes(jpeg_with_segments(xmp_segment(packet)))
    with pytest.raises(FileTooComplex, match="nested too deeply"):
        read_metadata(get_pool(), path, file_name="deep.jpg", structures=True)
    flat = read_metadata(get_pool(), path, file_name="deep.jpg")  # no structures: no nesting
    assert flat.groups["XMP"]
