"""Perceptual hashes as 16 hex digits (64 bits), and the distance between two of them.

Two pictures that look the same (re-encoded, resized, stripped of metadata) differ in a few
bits; unrelated pictures differ in about half of the 64.
"""

from __future__ import annotations

import re

from exif_service.domain.errors import BadRequest

HASH_BITS = 64
_HEX = re.compile(r"^[0-9a-fA-F]{16}$")


def is_phash(value: str) -> bool:
    """True for a 64-bit hash written as exactly 16 hex digits."""
    return bool(_HEX.match(value or ""))


def phash_to_int(value: str) -> int:
    """The hash's 64 bits as an integer; BadRequest if it is not 16 hex digits."""
    if not is_phash(value):
        raise BadRequest("A pHash must be 16 hexadecimal digits.")
    return int(value, 16)


def int_to_phash(bits: int) -> str:
    """The 16 lower-case hex digits of a 64-bit hash."""
    if not 0 <= bits < 1 << HASH_BITS:
        raise ValueError("a pHash holds exactly 64 bits")
    return f"{bits:016x}"


def phash_distance(a: str, b: str) -> int:
    """How many of the 64 bits differ (Hamming distance): 0 for the same picture."""
    return (phash_to_int(a) ^ phash_to_int(b)).bit_count()
