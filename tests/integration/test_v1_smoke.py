from pathlib import Path

from fastapi.testclient import TestClient
from tests.conftest import KeyedUser


def test_extract_then_remove_round_trip(
    client: TestClient, pro_user: KeyedUser, photo: Path
) -> None:
    with photo.open("rb") as fh:
        r = client.post(
            "/api/v1/extract",
            headers={"X-API-Key": pro_user.key},
            files={"file": ("photo.jpg", fh)},
        )
    assert r.status_code == 200
    body = r.json()
    assert body["metadata"]["exif"]["Model"] == "Canon EOS R5"
