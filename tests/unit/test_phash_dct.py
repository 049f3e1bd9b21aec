"""Our DCT pHash is the same hash imagehash computes, without SciPy in the Lambda package."""

from __future__ import annotations

import imagehash
import pytest
from tests.support.media import draw

from exif_service.engine.pixels import dct_phash


@pytest.mark.parametrize("seed", [0, 3, 17, 42, 99])
@pytest.mark.parametrize("size", [(320, 240), (64, 64), (1000, 30)])
def test_dct_phash_matches_imagehash_bit_for_bit(seed: int, size: tuple[int, int]) -> None:
    picture = draw(size, seed=seed)
    assert dct_phash(picture) == int(str(imagehash.phash(picture)), 16)
