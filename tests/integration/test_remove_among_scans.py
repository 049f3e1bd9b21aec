"""A JPEG with metadata among its scans, sent to the remove endpoint: ExifTool's strip would
copy it into the "clean" file unseen, so the caller gets a 422, no file and no charge."""

from __future__ import annotations

import io
import struct

from fastapi.testclient import TestClient
from tests.conftest import KeyedUser
from tests.support.media import draw

from exif_service.services.quota import used_today
from exif_service.store.accounts import get_user

SECRET = b"Jane Doe, 12 Rue de la Paix"


def _used(user: KeyedUser) -> int:
    account = get_user(user.user_id)
    assert account is not None
    return used_today(account)


def _progressive_with_comment_among_scans() -> bytes:
    out = io.BytesIO()
    draw((320, 240)).save(out, "JPEG", quality=90, progressive=True)
    image = out.getvalue()
    second = image.index(b"\xff\xda", image.index(b"\xff\xda") + 2)
    comment = b"\xff\xfe" + struct.pack(">H", len(SECRET) + 2) + SECRET
    return image[:second] + comment + image[second:]


def test_v1_remove_of_a_jpeg_with_a_comment_among_its_scans_is_a_422_and_free(
    client: TestClient, pro_user: KeyedUser
) -> None:
    before = _used(pro_user)
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("scan.jpg", _progressive_with_comment_among_scans())},
    )
    assert r.status_code == 422, r.text
    assert r.json() == {
        "success": False,
        "error": "The processed JPEG file still holds metadata among its image data "
        "(COM after the first scan); it was not returned.",
    }
    assert SECRET not in r.content
    assert _used(pro_user) == before


def test_v1_remove_of_an_ordinary_progressive_jpeg_still_works(
    client: TestClient, pro_user: KeyedUser
) -> None:
    out = io.BytesIO()
    draw((320, 240)).save(out, "JPEG", quality=90, progressive=True, comment=SECRET)
    r = client.post(
        "/api/v1/remove",
        headers={"X-API-Key": pro_user.key},
        files={"file": ("scan.jpg", out.getvalue())},
    )
    assert r.status_code == 200, r.text
    cleaned = client.get(r.json()["downloadUrl"])
    assert cleaned.status_code == 200
    assert cleaned.content.startswith(b"\xff\xd8") and SECRET not in cleaned.content
