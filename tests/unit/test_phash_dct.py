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


@pytest.mark.parametrize("level", [0, 1, 128, 255])
def test_a_flat_picture_hashes_like_imagehash_not_like_rounding_noise(level: int) -> None:
    from PIL import Image

    flat = Image.new("L", (40, 30), level)
    assert dct_phash(flat) == int(str(imagehash.phash(flat)), 16)


def test_the_hash_needs_no_numpy_so_the_package_can_leave_it_out() -> None:
    import subprocess
    import sys

    code = "import sys, exif_service.engine.pixels; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
