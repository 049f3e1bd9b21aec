"""The provenance and place rules over plain data: no ExifTool, no C2PA library."""

from __future__ import annotations

from typing import Any

import pytest

from exif_service.domain.privacy import C2PA_KEEP, StripPlan, parse_keep
from exif_service.domain.provenance import (
    IPTC_SOURCE_TYPES,
    Action,
    ContentCredentials,
    Place,
    captured_at_local,
    content_credentials,
    place_of,
    position_of,
    provenance,
)

URI = IPTC_SOURCE_TYPES


def _store(state: str | None, codes: list[str], source_type: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"action": "c2pa.created"}
    if source_type:
        action["digitalSourceType"] = source_type
    return {
        "active_manifest": "urn:1",
        "manifests": {
            "urn:1": {
                "claim_generator_info": [{"name": "Cam", "version": "2"}],
                "signature_info": {"common_name": "Signer", "issuer": "Org"},
                "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}],
                "ingredients": [{"title": "parent.jpg", "relationship": "parentOf"}],
            }
        },
        "validation_status": [{"code": c} for c in codes],
        **({"validation_state": state} if state else {}),
    }


@pytest.mark.parametrize(
    ("state", "codes", "expected"),
    [
        ("Trusted", [], "valid"),
        ("Valid", ["signingCredential.untrusted"], "untrusted"),
        ("Invalid", ["assertion.dataHash.mismatch"], "invalid"),
        (None, ["signingCredential.untrusted"], "untrusted"),
        (None, ["claimSignature.mismatch"], "invalid"),
        ("Valid", ["signingCredential.untrusted", "assertion.dataHash.mismatch"], "invalid"),
    ],
)
def test_validation_state_follows_the_library_and_its_status_codes(
    state: str | None, codes: list[str], expected: str
) -> None:
    found = content_credentials(_store(state, codes))
    assert found is not None and found.validation == expected
    assert found.signer == "Signer" and found.claim_generator == "Cam 2"
    assert found.ingredients[0].relationship == "parentOf"


def test_a_store_without_an_active_manifest_is_no_credentials() -> None:
    assert content_credentials({"manifests": {}}) is None
    assert content_credentials({"active_manifest": "x", "manifests": {"y": {}}}) is None


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("trainedAlgorithmicMedia", True),
        ("compositeWithTrainedAlgorithmicMedia", True),
        ("algorithmicMedia", True),
        ("digitalCapture", False),
        ("computationalCapture", False),
        ("negativeFilm", False),
        ("screenCapture", None),  # a screenshot may show anything
        ("digitalArt", None),
        ("compositeSynthetic", None),
    ],
)
def test_ai_generated_from_the_iptc_label(term: str, expected: bool | None) -> None:
    found = provenance({"XMP": {"DigitalSourceType": URI + term}}, None)
    assert found.ai_generated is expected
    assert found.digital_source_type == URI + term
    assert found.sources == ("iptc",)


def test_a_capture_claim_in_an_invalid_manifest_is_no_evidence_but_an_ai_claim_is() -> None:
    captured = ContentCredentials(
        "invalid", actions=(Action("c2pa.created", URI + "digitalCapture"),)
    )
    assert provenance({}, captured).ai_generated is None
    made = ContentCredentials(
        "invalid", actions=(Action("c2pa.created", URI + "algorithmicMedia"),)
    )
    assert provenance({}, made).ai_generated is True
    intact = ContentCredentials("untrusted", actions=captured.actions)
    assert provenance({}, intact).ai_generated is False
    assert provenance({}, intact).sources == ("c2pa",)


def test_nothing_said_is_null() -> None:
    assert provenance({"EXIF": {"Make": "Canon"}}, None).to_dict() == {
        "contentCredentials": None,
        "aiGenerated": None,
        "digitalSourceType": None,
        "sources": [],
    }


def test_keep_c2pa_is_the_manifests_group() -> None:
    assert parse_keep("c2pa,XMP-dc:Creator")[0] == C2PA_KEEP
    assert StripPlan(keep=parse_keep("C2PA")).keeps_credentials
    assert StripPlan(keep=parse_keep("JUMBF:all")).keeps_credentials
    assert not StripPlan(keep=parse_keep("XMP:all")).keeps_credentials


ROME = "Europe/Rome"


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({"EXIF": {"DateTimeOriginal": "2024:05:01 10:00:00"}}, "2024-05-01T10:00:00+02:00"),
        ({"EXIF": {"DateTimeOriginal": "2024:01:15 10:00:00"}}, "2024-01-15T10:00:00+01:00"),
        # the file says its zone: nothing is added
        (
            {"EXIF": {"DateTimeOriginal": "2024:05:01 10:00:00", "OffsetTimeOriginal": "+09:00"}},
            None,
        ),
        ({"XMP": {"DateTimeOriginal": "2024:05:01 10:00:00+09:00"}}, None),
        ({"EXIF": {"DateTimeOriginal": "0000:00:00 00:00:00"}}, None),
        ({"EXIF": {"DateTimeOriginal": "2024:13:45 99:00:00"}}, None),
        ({}, None),
    ],
)
def test_captured_at_local_only_for_times_without_a_zone(
    groups: dict[str, dict[str, Any]], expected: str | None
) -> None:
    assert captured_at_local(groups, ROME) == expected


def test_captured_at_local_with_an_unknown_zone_is_none() -> None:
    groups = {"EXIF": {"DateTimeOriginal": "2024:05:01 10:00:00"}}
    assert captured_at_local(groups, "Nowhere/Atlantis") is None
    assert captured_at_local(groups, None) is None


@pytest.mark.parametrize(
    ("lat", "lng", "expected"),
    [
        ("43 deg 28' 1.20\" N", "11 deg 53' 6.00\" E", (43.467, 11.885)),
        ("33 deg 52' 4.00\" S", "151 deg 12' 26.00\" E", (-33.867778, 151.207222)),
        ("91 deg 0' 0.00\" N", "0 deg 0' 0.00\" E", None),
        ("north", "east", None),
    ],
)
def test_position_from_exiftools_printed_composites(
    lat: str, lng: str, expected: tuple[float, float] | None
) -> None:
    found = position_of({"Composite": {"GPSLatitude": lat, "GPSLongitude": lng}})
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected, abs=1e-5)


def test_place_reads_exiftools_numeric_record_and_describes_itself() -> None:
    place = place_of(
        {
            "GeolocationCity": "Arezzo",
            "GeolocationRegion": "Tuscany",
            "GeolocationCountry": "Italy",
            "GeolocationCountryCode": "IT",
            "GeolocationTimeZone": ROME,
            "GeolocationDistance": 0.6,
        }
    )
    assert place == Place("Arezzo", "Tuscany", None, "Italy", "IT", ROME, 0.6)
    assert place.describe() == "0.6 km from Arezzo, Tuscany, Italy"
    assert place_of({"SourceFile": " "}) is None
