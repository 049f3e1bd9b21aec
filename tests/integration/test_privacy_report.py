"""The privacy report: findings, risk, and preset lists that are exactly what each strip removes.

The exactness tests strip each sample with each preset through the real remove endpoint, read
the file before and after with ExifTool itself (`-a -G1`, as a user would), and compare the
`Group:Tag` names: `remove` must be what went, `keep` what stayed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.support.media import PRIVACY_MOVIE, PRIVACY_STILL, exiftool, make_bare, make_photo
from tests.support.v1 import V1Stack, upload

from exif_service.domain.plans import usage_day
from exif_service.domain.privacy import Preset
from exif_service.services.quota import ip_subject, used_today
from exif_service.store import usage
from exif_service.store.accounts import get_user

EXT = {"jpeg": "jpg", "png": "png", "heic": "heic", "mp4": "mp4", "webp": "webp", "tiff": "tif"}
EXT |= {"dng": "dng", "mov": "mov"}
GPS = [
    "-GPS:GPSLatitude=48.8566",
    "-GPS:GPSLatitudeRef=N",
    "-GPS:GPSLongitude=2.3522",
    "-GPS:GPSLongitudeRef=E",
]
STILL = PRIVACY_STILL  # one tag of each category, as the preset suite writes them
MOVIE = PRIVACY_MOVIE
ROTATED = ["-EXIF:Orientation#=6"]
IPTC = ["-IPTC:CodedCharacterSet=UTF8", "-IPTC:By-line=Jane Doe", "-IPTC:City=Paris"]
# Samples whose only personal tags are places: deleting them leaves blocks with nothing of
# their own (an XMP packet, an IPTC record, EXIF directories, a movie's metadata box).
ONLY_PLACES = [*GPS, "-XMP-photoshop:City=Paris"]
SAMPLES: dict[str, tuple[str, list[str]]] = {
    "jpeg": ("jpeg", [*STILL, *IPTC, *ROTATED, "-File:Comment=met Bob here"]),
    "jpeg-only-places": (
        "jpeg",
        [*ONLY_PLACES, "-IPTC:City=Paris", "-IPTC:CodedCharacterSet=UTF8"],
    ),
    "png": ("png", STILL),
    "png-only-places": ("png", [*ONLY_PLACES, *ROTATED]),
    "heic": ("heic", [*STILL, *ROTATED]),
    "heic-only-places": ("heic", ONLY_PLACES),
    "mp4": ("mp4", MOVIE),
    "mp4-only-places": (
        "mp4",
        ["-Keys:GPSCoordinates=48.8566, 2.3522", "-XMP-photoshop:City=Paris"],
    ),
    "mp4-items": (
        "mp4",
        [
            "-Keys:GPSCoordinates=48.8566, 2.3522",
            "-ItemList:Title=Holiday",
            "-ItemList:Comment=met Bob here",
            "-QuickTime:CreateDate=2024:03:15 10:30:00",
            "-QuickTime:TrackCreateDate=2024:03:15 10:30:00",
        ],
    ),
    # beyond the four formats the presets are specified for: the same rules hold
    "webp": ("webp", STILL),
    "webp-only-places": ("webp", ONLY_PLACES),
    "tiff": ("tiff", STILL),
    "dng": ("dng", STILL),
    "mov": ("mov", MOVIE),
}
# Groups that describe the file as a file (and what ExifTool computes): never compared.
NEUTRAL = frozenset({"File", "System", "ExifTool", "Composite"})


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("privacy")
    made: dict[str, Path] = {}
    for name, (kind, tags) in SAMPLES.items():
        path = make_bare(kind, folder / f"{name}.{EXT[kind]}")
        exiftool("-q", "-q", "-m", "-overwrite_original", *tags, str(path))
        made[name] = path
    made["photo"] = make_photo(folder / "photo.jpg")  # with a thumbnail, IPTC and a comment
    return made


def _names(data: bytes, folder: Path, suffix: str) -> set[str]:
    """`Group:Tag` of every metadata tag ExifTool reads (a zeroed movie header time is none)."""
    path = folder / f"read{suffix}"
    path.write_bytes(data)
    pairs = json.loads(exiftool("-j", "-a", "-G1", str(path)), object_pairs_hook=lambda p: p)[0]
    names = set()
    for key, value in pairs:
        group, _, name = key.partition(":")
        if name and group not in NEUTRAL and not str(value).startswith("0000:00:00"):
            names.add(key)
    return names


def _compared(names: list[str]) -> set[str]:
    return {n for n in names if n.partition(":")[0] not in NEUTRAL}


def _report(stack: V1Stack, path: Path) -> dict[str, Any]:
    r = upload(stack.client, path, key=stack.user.key, endpoint="/api/v1/privacy", name=path.name)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _stripped(stack: V1Stack, path: Path, preset: str) -> bytes:
    r = upload(
        stack.client,
        path,
        key=stack.user.key,
        endpoint="/api/v1/remove",
        name=path.name,
        params={"preset": preset},
    )
    assert r.status_code == 200, r.text
    return stack.client.get(r.json()["downloadUrl"]).content


@pytest.mark.parametrize("preset", [p.value for p in Preset])
@pytest.mark.parametrize("sample", [*SAMPLES, "photo"])
def test_each_preset_removes_exactly_what_the_report_lists(
    stack: V1Stack, samples: dict[str, Path], tmp_path: Path, sample: str, preset: str
) -> None:
    path = samples[sample]
    lists = _report(stack, path)["presets"][preset]
    before = _names(path.read_bytes(), tmp_path, path.suffix)
    after = _names(_stripped(stack, path, preset), tmp_path, path.suffix)
    assert sorted(_compared(lists["remove"])) == sorted(before - after)
    assert sorted(_compared(lists["keep"])) == sorted(before & after)
    assert not set(lists["remove"]) & set(lists["keep"])


def test_findings_name_the_group_the_value_and_why(
    stack: V1Stack, samples: dict[str, Path]
) -> None:
    body = _report(stack, samples["jpeg"])
    assert body["success"] is True
    assert body["fileName"] == "jpeg.jpg"
    assert body["risk"] == "high"
    found = {(f["category"], f["tag"], f["value"]) for f in body["findings"]}
    assert {
        ("location", "GPS:GPSLatitude", "48 deg 51' 23.76\""),
        ("location", "XMP-photoshop:City", "Paris"),
        ("location", "IPTC:City", "Paris"),
        ("device", "ExifIFD:SerialNumber", "SN123456"),
        ("identity", "IFD0:Artist", "Jane Doe"),
        ("identity", "XMP-dc:Creator", "Jane Doe"),
        ("identity", "IPTC:By-line", "Jane Doe"),
        ("people", "XMP-iptcExt:PersonInImage", "Bob Roe"),
        ("time", "ExifIFD:DateTimeOriginal", "2024:03:15 10:30:00"),
        ("history", "IFD0:Software", "EditorPro 9"),
        ("history", "XMP-xmpMM:HistoryAction", "saved"),
        ("free-text", "ExifIFD:UserComment", "met Bob here"),
    } <= found
    assert all(f["why"] for f in body["findings"])
    assert not any(f["tag"].startswith(("ExifIFD:FNumber", "ICC")) for f in body["findings"])


def test_embedded_previews_are_findings_as_exiftool_lists_them(
    stack: V1Stack, samples: dict[str, Path]
) -> None:
    photo = _report(stack, samples["photo"])
    thumbnail = [f for f in photo["findings"] if f["tag"] == "IFD1:ThumbnailImage"]
    assert [f["category"] for f in thumbnail] == ["embedded"]
    assert (
        thumbnail[0]["value"].startswith("(Binary data ")
        and "-b option" not in thumbnail[0]["value"]
    )
    raw = _report(stack, samples["dng"])
    assert ("embedded", "IFD0:ThumbnailTIFF") in {
        (f["category"], f["tag"]) for f in raw["findings"]
    }


def test_a_movie_finds_its_boxes_but_not_zeroed_header_times(
    stack: V1Stack, samples: dict[str, Path]
) -> None:
    body = _report(stack, samples["mp4"])
    tags = {f["tag"] for f in body["findings"]}
    assert {"Keys:GPSCoordinates", "UserData:GPSCoordinates", "Keys:Author"} <= tags
    assert not any(f["value"].startswith("0000:00:00") for f in body["findings"])
    assert "QuickTime:CreateDate" not in tags
    dated = _report(stack, samples["mp4-items"])
    assert ("time", "QuickTime:CreateDate") in {
        (f["category"], f["tag"]) for f in dated["findings"]
    }


@pytest.mark.parametrize(
    ("tags", "risk"),
    [
        ([], "none"),
        (["-EXIF:DateTimeOriginal=2024:03:15 10:30:00"], "low"),
        (["-XMP-dc:Creator=Jane Doe", "-EXIF:DateTimeOriginal=2024:03:15 10:30:00"], "medium"),
        (["-EXIF:SerialNumber=SN1", "-XMP-dc:Creator=Jane Doe"], "high"),
    ],
)
def test_risk_follows_the_most_revealing_finding(
    stack: V1Stack, tmp_path: Path, tags: list[str], risk: str
) -> None:
    path = make_bare("jpeg", tmp_path / "r.jpg")
    if tags:
        exiftool("-q", "-q", "-overwrite_original", *tags, str(path))
    body = _report(stack, path)
    assert body["risk"] == risk
    assert bool(body["findings"]) is (risk != "none")


def test_values_are_capped_and_never_show_a_server_path(stack: V1Stack, tmp_path: Path) -> None:
    path = make_bare("jpeg", tmp_path / "long.jpg")
    exiftool("-q", "-q", "-overwrite_original", f"-EXIF:UserComment={'x' * 5000}", str(path))
    r = upload(stack.client, path, key=stack.user.key, endpoint="/api/v1/privacy", name="long.jpg")
    comment = next(f for f in r.json()["findings"] if f["tag"] == "ExifIFD:UserComment")
    assert len(comment["value"]) <= 200 and comment["value"].startswith("xxx")
    for secret in ("/tmp", "exs-", "input.jpg", "ExifTool:"):
        assert secret not in r.text


def test_v1_privacy_needs_a_key_and_counts_one_image(
    stack: V1Stack, samples: dict[str, Path]
) -> None:
    r = upload(stack.client, samples["png"], key=None, endpoint="/api/v1/privacy")
    assert r.status_code == 401 and r.json()["success"] is False
    account = get_user(stack.user.user_id)
    assert account is not None
    used = used_today(account)
    r = upload(
        stack.client, samples["png"], key=stack.user.key, endpoint="/api/v1/privacy", via_query=True
    )
    assert r.status_code == 200, r.text
    assert used_today(account) == used + 1


def test_v1_privacy_refuses_bad_input_in_its_envelope_at_no_charge(
    stack: V1Stack, tmp_path: Path
) -> None:
    account = get_user(stack.user.user_id)
    assert account is not None
    used = used_today(account)
    headers = {"X-API-Key": stack.user.key}
    r = stack.client.post("/api/v1/privacy", headers=headers, data={"title": "no file"})
    assert r.status_code == 400 and r.json()["success"] is False
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"just some text\n" * 40)
    r = upload(stack.client, text, key=stack.user.key, endpoint="/api/v1/privacy")
    assert r.status_code == 415 and r.json()["success"] is False
    assert "notes" not in r.json()["error"] and "/tmp" not in r.text
    assert used_today(account) == used


def test_public_report_is_the_same_body_under_ok(stack: V1Stack, samples: dict[str, Path]) -> None:
    v1 = _report(stack, samples["heic"])
    r = stack.client.post(
        "/api/images/privacy-report",
        files={"file": ("heic.heic", samples["heic"].read_bytes())},
    )
    assert r.status_code == 200, r.text
    public = r.json()
    assert public.pop("ok") is True and v1.pop("success") is True
    assert public == v1


def test_public_report_shares_view_exifs_daily_limit_per_address(
    stack: V1Stack, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from exif_service.settings import get_settings

    spent = usage.used(ip_subject("testclient"), usage_day())
    monkeypatch.setenv("EXIF_SERVICE_PUBLIC_DAILY_LIMIT_PER_IP", str(spent + 2))
    get_settings.cache_clear()
    files = {"file": ("p.png", samples["png"].read_bytes())}
    assert stack.client.post("/api/images/view-exif", files=files).status_code == 200
    assert stack.client.post("/api/images/privacy-report", files=files).status_code == 200
    r = stack.client.post("/api/images/privacy-report", files=files)
    assert r.status_code == 429
    assert r.json()["ok"] is False and r.json()["error"] == "limit_reached"
    r = stack.client.post("/api/images/privacy-report", data={"title": "no file"})
    assert r.status_code == 400 and r.json()["ok"] is False


def test_view_exif_brings_the_report_along_for_one_image(
    stack: V1Stack, samples: dict[str, Path]
) -> None:
    files = {"file": ("heic.heic", samples["heic"].read_bytes())}
    alone = stack.client.post("/api/images/privacy-report", files=files).json()
    spent = usage.used(ip_subject("testclient"), usage_day())
    r = stack.client.post("/api/images/view-exif?privacy=true", files=files)
    assert r.status_code == 200, r.text
    assert usage.used(ip_subject("testclient"), usage_day()) == spent + 1
    body = r.json()
    assert body["ok"] is True and body["metadata"]
    alone.pop("ok")
    assert body["privacy"] == alone
    assert "privacy" not in stack.client.post("/api/images/view-exif", files=files).json()
    for bad in ("maybe", "<script>", "true\x00"):
        r = stack.client.post("/api/images/view-exif", params={"privacy": bad}, files=files)
        assert r.status_code == 400, bad
        assert r.json() == {"ok": False, "message": "privacy must be true or false."}


@pytest.fixture
def origin(samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A web server on 127.0.0.1 standing in for the internet, serving the sample photo."""
    from exif_service.settings import get_settings

    body = samples["photo"].read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    monkeypatch.setenv("EXIF_SERVICE_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_is_reported_like_an_upload_on_both_surfaces(
    stack: V1Stack, samples: dict[str, Path], origin: str
) -> None:
    uploaded = _report(stack, samples["photo"])
    headers = {"X-API-Key": stack.user.key}
    r = stack.client.post("/api/v1/privacy", headers=headers, json={"url": f"{origin}/photo.jpg"})
    assert r.status_code == 200, r.text
    assert r.json() == uploaded
    public = stack.client.post("/api/images/privacy-report", data={"url": f"{origin}/photo.jpg"})
    assert public.status_code == 200, public.text
    assert public.json()["presets"] == uploaded["presets"]
