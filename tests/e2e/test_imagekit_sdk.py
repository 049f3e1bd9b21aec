"""The official ImageKit Python SDK (`imagekitio`), unchanged, against the running server."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagekitio import ImageKit
from tests.e2e.conftest import Server, start_server
from tests.integration.test_imagekit_metadata import REFERENCE_EXIF, make_reference_photo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sdk(server: Server) -> ImageKit:
    """An SDK client with a fresh Pro key; only the base URL and key differ from ImageKit."""
    output = server.admin(
        "create-user", "--email", f"sdk-{uuid.uuid4().hex[:8]}@example.com", "--plan", "pro"
    )
    key = output.strip().splitlines()[-1]
    return ImageKit(private_key=key, base_url=server.url, max_retries=0)


def test_sdk_uploads_then_reads_metadata_by_file_id_and_by_url(
    sdk: ImageKit, tmp_path: Path
) -> None:
    photo = make_reference_photo(tmp_path / "canon.jpg")
    uploaded = sdk.files.upload(
        file=photo.read_bytes(),
        file_name="canon.jpg",
        folder="/sdk",
        tags=["camera", "test"],
        use_unique_file_name=False,
        response_fields=["tags", "metadata"],
    )
    assert uploaded.file_id and uploaded.url
    assert uploaded.name == "canon.jpg"
    assert uploaded.file_path == "/sdk/canon.jpg"
    assert uploaded.tags == ["camera", "test"]
    assert uploaded.metadata is not None and uploaded.metadata.format == "jpg"

    meta = sdk.files.metadata.get(uploaded.file_id)
    assert (meta.width, meta.height) == (100, 68)
    assert meta.has_color_profile is True and meta.has_transparency is False
    assert meta.p_hash is not None and len(meta.p_hash) == 16
    assert meta.exif is not None and meta.exif.exif is not None and meta.exif.gps is not None
    assert meta.exif.exif.shutter_speed_value == REFERENCE_EXIF["exif"]["ShutterSpeedValue"]
    assert meta.exif.exif.exposure_time == 0.00625
    assert meta.exif.gps.gps_version_id == [2, 2, 0, 0]
    assert meta.exif.image is not None and meta.exif.image.model == "Canon EOS 40D"

    from_url = sdk.files.metadata.get_from_url(url=uploaded.url)
    assert from_url.to_dict() == meta.to_dict()


def test_sdk_lists_gets_details_and_deletes(sdk: ImageKit, tmp_path: Path) -> None:
    photo = make_reference_photo(tmp_path / "listed.jpg")
    with photo.open("rb") as fh:
        uploaded = sdk.files.upload(file=fh, file_name="listed.jpg", folder="/listing")
    assert uploaded.file_id is not None
    listed = sdk.assets.list(path="/listing")
    assert [getattr(f, "file_id", None) for f in listed] == [uploaded.file_id]
    details = sdk.files.get(uploaded.file_id)
    assert details.file_path == uploaded.file_path
    sdk.files.delete(uploaded.file_id)
    from imagekitio import NotFoundError

    with pytest.raises(NotFoundError):
        sdk.files.metadata.get(uploaded.file_id)


def test_sdk_raises_its_own_error_types_for_a_bad_key_and_a_free_plan(server: Server) -> None:
    from imagekitio import AuthenticationError, PermissionDeniedError

    stranger = ImageKit(private_key="exs_" + "x" * 43, base_url=server.url, max_retries=0)
    with pytest.raises(AuthenticationError) as unknown:
        stranger.files.metadata.get("0123456789abcdef01234567")
    assert isinstance(unknown.value.body, dict) and set(unknown.value.body) == {"message", "help"}

    output = server.admin("create-user", "--email", f"free-{uuid.uuid4().hex[:8]}@example.com")
    free = ImageKit(private_key=output.strip().splitlines()[-1], base_url=server.url, max_retries=0)
    with pytest.raises(PermissionDeniedError):
        free.files.metadata.get_from_url(url="https://example.com/a.jpg")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain web server on loopback with one picture, standing in for someone's website."""
    folder = tmp_path_factory.mktemp("origin")
    make_reference_photo(folder / "remote.jpg")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.skipif(
    bool(os.environ.get("EXIF_SERVICE_E2E_URL")),
    reason="a deployed stack rightly refuses loopback URLs",
)
def test_sdk_reads_metadata_of_a_url_that_is_not_in_the_library(
    tmp_path: Path, origin: tuple[str, Path]
) -> None:
    base, folder = origin
    # loopback origins are allowed only for this server, so the fetcher can reach the stand-in
    with start_server(tmp_path, ALLOW_PRIVATE_URLS="true") as running:
        output = running.admin("create-user", "--email", "remote@example.com", "--plan", "pro")
        sdk = ImageKit(
            private_key=output.strip().splitlines()[-1], base_url=running.url, max_retries=0
        )
        meta = sdk.files.metadata.get_from_url(url=f"{base}/remote.jpg")
    assert meta.size == (folder / "remote.jpg").stat().st_size
    assert meta.exif is not None and meta.exif.image is not None
    assert meta.exif.image.make == "Canon"
