"""pHash text form and distance."""

from __future__ import annotations

import pytest

from exif_service.domain.errors import BadRequest
from exif_service.domain.phash import int_to_phash, is_phash, phash_distance, phash_to_int


def test_hex_and_int_forms_round_trip() -> None:
    for bits in (0, 1, 0xF06830CA9F1E3E90, (1 << 64) - 1):
        assert phash_to_int(int_to_phash(bits)) == bits
    assert int_to_phash(1) == "0000000000000001"


def test_distance_counts_differing_bits() -> None:
    assert phash_distance("f06830ca9f1e3e90", "f06830ca9f1e3e90") == 0
    assert phash_distance("0000000000000000", "000000000000000f") == 4
    assert phash_distance("0000000000000000", "ffffffffffffffff") == 64
    assert phash_distance("ABCDEF0123456789", "abcdef0123456789") == 0


@pytest.mark.parametrize(
    "text", ["", "f06830ca9f1e3e9", "f06830ca9f1e3e900", "g06830ca9f1e3e90", " f06830ca9f1e3e9"]
)
def test_anything_but_sixteen_hex_digits_is_refused(text: str) -> None:
    assert not is_phash(text)
    with pytest.raises(BadRequest):
        phash_to_int(text)


def test_int_outside_64_bits_has_no_phash() -> None:
    with pytest.raises(ValueError):
        int_to_phash(1 << 64)
    with pytest.raises(ValueError):
        int_to_phash(-1)
