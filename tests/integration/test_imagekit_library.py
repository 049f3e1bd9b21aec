"""The ImageKit media library over HTTP: upload, list, details, delete, metadata, pHash search."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import KeyedUser, make_user
from tests.integration.test_imagekit_metadata import basic, upload
from tests.support.media import draw, make_jpeg

from exif_service.settings import Settings, get_settings


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for seed in (1, 2):
        make_jpeg(folder / f"seed{seed}.jpg", seed=seed * 70)
    return folder


@pytest.fixture
def web(pictures: Path, monkeypatch: pytest.MonkeyPatch, aws: Settings) -> Iterator[str]:
    """A plain HTTP server on loopback serving `pictures`, reachable by the fetcher."""
    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    handler = functools.partial(_QuietHandler, directory=str(pictures))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def test_upload_keeps_the_file_and_answers_imagekits_upload_response(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    body = upload(client, pro_user.key, pictures / "seed1.jpg", folder="/holiday/", tags="sea, sun")
    assert set(body) >= {"fileId", "name", "filePath", "url", "thumbnailUrl", "versionInfo"}
    assert body["name"].startswith("seed1_") and body["name"].endswith(".jpg")
    assert body["filePath"] == f"/holiday/{body['name']}"
    assert (body["width"], body["height"]) == (320, 240)
    assert body["size"] == (pictures / "seed1.jpg").stat().st_size
    assert body["fileType"] == "image"
    assert body["tags"] == ["sea", "sun"]
    assert body["AITags"] is None
    assert "metadata" not in body
    content = client.get(body["url"])  # the url works without the key
    assert content.status_code == 200
    assert content.content == (pictures / "seed1.jpg").read_bytes()
    assert content.headers["content-type"] == "image/jpeg"


def test_upload_with_metadata_in_response_fields_includes_the_metadata_object(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    body = upload(
        client,
        pro_user.key,
        pictures / "seed2.jpg",
        responseFields="tags,metadata",
        useUniqueFileName="false",
    )
    assert body["name"] == "seed2.jpg"
    assert body["metadata"]["format"] == "jpg"
    assert body["metadata"]["width"] == 320
    assert body["metadata"]["hasColorProfile"] is True


def test_upload_of_a_base64_string_and_of_a_url(
    client: TestClient, pro_user: KeyedUser, pictures: Path, web: str
) -> None:
    raw = (pictures / "seed1.jpg").read_bytes()
    for file_field in (
        base64.b64encode(raw).decode(),
        "data:image/jpeg;base64," + base64.b64encode(raw).decode(),
        f"{web}/seed1.jpg",
    ):
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": (None, file_field)},
            data={"fileName": "copy.jpg"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["size"] == len(raw)


def test_same_name_without_unique_names_replaces_the_file(
    client: TestClient, pro_user: KeyedUser, pictures: Path, tmp_path: Path
) -> None:
    first = upload(client, pro_user.key, pictures / "seed1.jpg", useUniqueFileName="false")
    (tmp_path / "seed1.jpg").write_bytes((pictures / "seed2.jpg").read_bytes())
    second = upload(client, pro_user.key, tmp_path / "seed1.jpg", useUniqueFileName="false")
    assert second["fileId"] == first["fileId"]
    listed = client.get("/v1/files", headers=basic(pro_user.key)).json()
    assert [f["fileId"] for f in listed] == [first["fileId"]]
    assert client.get(second["url"]).content == (pictures / "seed2.jpg").read_bytes()


def test_list_details_and_delete_of_the_callers_files(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    a = upload(client, pro_user.key, pictures / "seed1.jpg", folder="a")
    b = upload(client, pro_user.key, pictures / "seed2.jpg", folder="b/c")
    auth = basic(pro_user.key)

    everything = client.get("/v1/files", headers=auth).json()
    assert [f["fileId"] for f in everything] == [a["fileId"], b["fileId"]]
    assert everything[0]["type"] == "file" and everything[0]["mime"] == "image/jpeg"
    in_b = client.get("/v1/files", params={"path": "/b/c/"}, headers=auth).json()
    assert [f["fileId"] for f in in_b] == [b["fileId"]]
    page = client.get("/v1/files", params={"skip": 1, "limit": 1}, headers=auth).json()
    assert [f["fileId"] for f in page] == [b["fileId"]]

    details = client.get(f"/v1/files/{a['fileId']}/details", headers=auth)
    assert details.status_code == 200
    assert details.json()["filePath"] == a["filePath"]
    assert details.json()["createdAt"].endswith("Z")

    gone = client.delete(f"/v1/files/{a['fileId']}", headers=auth)
    assert gone.status_code == 204 and gone.content == b""
    assert client.get(f"/v1/files/{a['fileId']}/details", headers=auth).status_code == 404
    assert client.get(a["url"]).status_code == 404
    assert client.delete(f"/v1/files/{a['fileId']}", headers=auth).status_code == 404


def test_another_users_file_is_not_found(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    mine = upload(client, pro_user.key, pictures / "seed1.jpg")
    other = basic(make_user("other@example.com", "pro").key)
    file_id = mine["fileId"]
    for method, path in (
        ("GET", f"/v1/files/{file_id}/details"),
        ("GET", f"/v1/files/{file_id}/metadata"),
        ("GET", f"/v1/files/{file_id}/content"),
        ("GET", f"/v1/files/{file_id}/similar"),
        ("DELETE", f"/v1/files/{file_id}"),
    ):
        r = client.request(method, path, headers=other)
        assert r.status_code == 404, path
        assert set(r.json()) == {"message", "help"}
    assert client.get("/v1/files", headers=other).json() == []
    wrong_token = client.get(f"/v1/files/{file_id}/content", params={"token": "guess"})
    assert wrong_token.status_code == 404
    assert client.get(f"/v1/files/{file_id}/content", headers=basic(pro_user.key)).status_code == (
        200
    )


def test_metadata_from_the_url_of_an_own_library_file_and_from_a_public_url(
    client: TestClient, pro_user: KeyedUser, pictures: Path, web: str
) -> None:
    mine = upload(client, pro_user.key, pictures / "seed1.jpg")
    auth = basic(pro_user.key)
    from_library = client.get("/v1/metadata", params={"url": mine["url"]}, headers=auth)
    assert from_library.status_code == 200
    from_web = client.get("/v1/metadata", params={"url": f"{web}/seed1.jpg"}, headers=auth)
    assert from_web.status_code == 200
    assert from_library.json() == from_web.json()
    assert from_web.json()["size"] == (pictures / "seed1.jpg").stat().st_size


def test_metadata_url_to_a_private_address_is_refused(
    client: TestClient, pro_user: KeyedUser
) -> None:
    r = client.get(
        "/v1/metadata",
        params={"url": "http://169.254.169.254/latest/meta-data/"},
        headers=basic(pro_user.key),
    )
    assert r.status_code == 400
    assert set(r.json()) == {"message", "help"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic bm90LWEta2V5Og=="}, 401),
        ({"Authorization": "Bearer exs_something"}, 401),
    ],
)
def test_missing_or_unknown_key_gets_401(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    r = client.get("/v1/files", headers=headers)
    assert r.status_code == status
    assert set(r.json()) == {"message", "help"}


def test_free_plan_key_gets_403(client: TestClient, free_user: KeyedUser) -> None:
    r = client.get("/v1/files", headers=basic(free_user.key))
    assert r.status_code == 403
    assert set(r.json()) == {"message", "help"}


def test_upload_without_file_name_or_file_gets_400(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    with (pictures / "seed1.jpg").open("rb") as fh:
        no_name = client.post(
            "/api/v1/files/upload", headers=basic(pro_user.key), files={"file": ("x.jpg", fh)}
        )
    assert no_name.status_code == 400
    assert "fileName" in no_name.json()["message"]
    no_file = client.post(
        "/api/v1/files/upload",
        headers=basic(pro_user.key),
        files={"fileName": (None, "x.jpg")},
    )
    assert no_file.status_code == 400
    not_base64 = client.post(
        "/api/v1/files/upload",
        headers=basic(pro_user.key),
        files={"file": (None, "%%% not base64 %%%"), "fileName": (None, "x.jpg")},
    )
    assert not_base64.status_code == 400


def test_text_file_upload_gets_415(client: TestClient, pro_user: KeyedUser) -> None:
    r = client.post(
        "/api/v1/files/upload",
        headers=basic(pro_user.key),
        files={"file": ("notes.txt", b"just some words\n" * 20)},
        data={"fileName": "notes.txt"},
    )
    assert r.status_code == 415
    assert set(r.json()) == {"message", "help"}


def test_quota_exhausted_gets_429_with_rate_limit_headers(
    client: TestClient, pro_user: KeyedUser, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_PRO_DAILY_LIMIT", "2")
    get_settings.cache_clear()
    first = upload(client, pro_user.key, pictures / "seed1.jpg")  # 1 of 2
    auth = basic(pro_user.key)
    assert client.get(f"/v1/files/{first['fileId']}/metadata", headers=auth).status_code == 200
    r = client.get(f"/v1/files/{first['fileId']}/metadata", headers=auth)  # 3 of 2
    assert r.status_code == 429
    assert set(r.json()) == {"message", "help"}
    assert r.headers["X-RateLimit-Limit"] == "2"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(r.headers["X-RateLimit-Reset"]) <= 24 * 3600 * 1000
    # listing and details cost nothing
    assert client.get("/v1/files", headers=auth).status_code == 200


def test_failed_metadata_read_is_not_charged(
    client: TestClient, pro_user: KeyedUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.domain.accounts import Account, Plan
    from exif_service.services.quota import used_today

    auth = basic(pro_user.key)
    r = client.get("/v1/metadata", params={"url": "http://127.0.0.1:1/x.jpg"}, headers=auth)
    assert r.status_code == 400
    account = Account(pro_user.user_id, pro_user.email, Plan.PRO, False, _epoch())
    assert used_today(account) == 0


def test_unknown_path_and_wrong_method_use_the_imagekit_envelope(
    client: TestClient, pro_user: KeyedUser
) -> None:
    missing = client.get("/v1/nothing-here", headers=basic(pro_user.key))
    assert missing.status_code == 404
    assert set(missing.json()) == {"message", "help"}
    wrong = client.put("/v1/files", headers=basic(pro_user.key))
    assert wrong.status_code == 405
    assert set(wrong.json()) == {"message", "help"}


def test_phash_distance_between_hashes_and_file_ids(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    auth = basic(pro_user.key)
    a = upload(client, pro_user.key, pictures / "seed1.jpg", responseFields="metadata")
    b = upload(client, pro_user.key, pictures / "seed1.jpg", responseFields="metadata")
    c = upload(client, pro_user.key, pictures / "seed2.jpg", responseFields="metadata")
    same = client.get(
        "/v1/phash-distance", params={"a": a["fileId"], "b": b["fileId"]}, headers=auth
    )
    assert same.status_code == 200 and same.json()["distance"] == 0
    by_hash = client.get(
        "/v1/phash-distance",
        params={"a": a["metadata"]["pHash"], "b": c["metadata"]["pHash"]},
        headers=auth,
    )
    assert by_hash.json()["distance"] > 4
    assert client.get(
        "/v1/phash-distance",
        params={"a": "f06830ca9f1e3e90", "b": "f06830ca9f1e3e91"},
        headers=auth,
    ).json() == {"a": "f06830ca9f1e3e90", "b": "f06830ca9f1e3e91", "distance": 1}
    bad = client.get("/v1/phash-distance", params={"a": "xyz!", "b": a["fileId"]}, headers=auth)
    assert bad.status_code == 404


def test_similar_lists_the_callers_look_alikes_nearest_first(
    client: TestClient, pro_user: KeyedUser, pictures: Path, tmp_path: Path
) -> None:
    auth = basic(pro_user.key)
    original = upload(client, pro_user.key, pictures / "seed1.jpg")
    smaller = tmp_path / "smaller.png"
    draw(seed=70).resize((160, 120)).save(smaller)
    resized = upload(client, pro_user.key, smaller)
    twin = upload(client, pro_user.key, pictures / "seed1.jpg")
    upload(client, pro_user.key, pictures / "seed2.jpg")  # different picture
    upload(client, make_user("x@example.com", "pro").key, pictures / "seed1.jpg")  # not mine
    r = client.get(
        f"/v1/files/{original['fileId']}/similar", params={"maxDistance": 6}, headers=auth
    )
    assert r.status_code == 200
    found = r.json()
    assert [f["fileId"] for f in found] == [twin["fileId"], resized["fileId"]]
    assert found[0]["pHashDistance"] == 0
    assert found[0]["pHashDistance"] <= found[1]["pHashDistance"] <= 6


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2020, 1, 1, tzinfo=UTC)


def test_svg_with_script_is_served_as_a_sandboxed_download(
    client: TestClient, pro_user: KeyedUser
) -> None:
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
    )
    r = client.post(
        "/api/v1/files/upload",
        headers=basic(pro_user.key),
        files={"file": ("x.svg", svg)},
        data={"fileName": "x.svg"},
    )
    assert r.status_code == 200, r.text
    content = client.get(r.json()["url"])
    assert content.status_code == 200
    assert "sandbox" in content.headers["content-security-policy"]
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("attachment")


def test_file_name_and_folder_cannot_climb_out_of_the_library(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    with (pictures / "seed1.jpg").open("rb") as fh:
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": ("x.jpg", fh)},
            data={
                "fileName": "../../etc/evil name?.jpg",
                "folder": "../a/./b\\..\\c",
                "useUniqueFileName": "false",
            },
        )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "evil_name_.jpg"
    assert r.json()["filePath"] == "/a/b/c/evil_name_.jpg"


def test_upload_over_the_size_limit_gets_413_for_binary_and_base64(
    client: TestClient, pro_user: KeyedUser, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_MAX_UPLOAD_BYTES", "2000")
    get_settings.cache_clear()
    raw = (pictures / "seed1.jpg").read_bytes()
    assert len(raw) > 2000
    for file_field in (("big.jpg", raw), (None, base64.b64encode(raw).decode())):
        r = client.post(
            "/api/v1/files/upload",
            headers=basic(pro_user.key),
            files={"file": file_field},
            data={"fileName": "big.jpg"},
        )
        assert r.status_code == 413, r.text
        assert set(r.json()) == {"message", "help"}
    assert client.get("/v1/files", headers=basic(pro_user.key)).json() == []


def test_record_whose_stored_object_vanished_is_404_not_500(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    from exif_service.store.blobs import Blobs
    from exif_service.store.library import get_entry

    mine = upload(client, pro_user.key, pictures / "seed1.jpg")
    entry = get_entry(mine["fileId"])
    assert entry is not None
    Blobs().delete(entry.s3_key)
    assert client.get(mine["url"]).status_code == 404
    r = client.get(f"/v1/files/{mine['fileId']}/metadata", headers=basic(pro_user.key))
    assert r.status_code == 404
    assert set(r.json()) == {"message", "help"}


def test_storage_failure_is_a_500_in_the_envelope_with_a_request_id_only(
    client: TestClient, pro_user: KeyedUser, pictures: Path
) -> None:
    from exif_service.services.runtime import file_store
    from exif_service.store.blobs import Blobs

    mine = upload(client, pro_user.key, pictures / "seed1.jpg")
    app: Any = client.app
    app.dependency_overrides[file_store] = lambda: Blobs(bucket="no-such-bucket-here")
    try:
        r = client.get(f"/v1/files/{mine['fileId']}/metadata", headers=basic(pro_user.key))
    finally:
        app.dependency_overrides.clear()
    assert r.status_code == 500
    body = r.json()
    assert set(body) == {"message", "help"}
    assert r.headers["x-request-id"] in body["help"]
    assert "bucket" not in r.text.lower() and "Traceback" not in r.text


def test_with_download_redirects_the_url_sends_the_browser_to_a_presigned_s3_url(
    client: TestClient, pro_user: KeyedUser, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = upload(client, pro_user.key, pictures / "seed1.jpg")
    monkeypatch.setenv("EXIF_SERVICE_DOWNLOAD_REDIRECTS", "true")
    get_settings.cache_clear()
    r = client.get(mine["url"], follow_redirects=False)
    assert r.status_code == 302
    location = r.headers["location"]
    assert "library/" in location and "X-Amz-Signature" in location
