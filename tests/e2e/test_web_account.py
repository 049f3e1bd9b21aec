"""A person signs up and uses the tools, the dashboard and an API key in the browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import Server
from tests.support.browser import (
    OVERFLOWS,
    PASSWORD,
    UNLABELLED_CONTROLS,
    screenshot,
    sign_in,
    sign_up,
    unique_email,
)
from tests.support.media import exiftool, make_photo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def tags_of(path: Path) -> dict[str, object]:
    """Every tag ExifTool finds in `path`, as `Group:Tag` -> value."""
    records: list[dict[str, object]] = json.loads(exiftool("-j", "-G", str(path)))
    return records[0]


def run_tool(page: Page, button: str, save_to: Path) -> Path:
    """Press the tool's submit button and keep the file the browser downloads."""
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    download.value.save_as(save_to)
    return save_to


def test_sign_up_lands_on_the_dashboard_with_the_free_plan(page: Page) -> None:
    sign_up(page)
    expect(page.locator("#plan-name")).to_have_text("Free")
    expect(page.locator("#usage-text")).to_have_text("0 of 5 images today")
    expect(page.get_by_role("button", name="Upgrade to Pro")).to_be_visible()


def test_strip_downloads_a_file_without_gps(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "trip.jpg")))
    clean = run_tool(page, "Strip and download", tmp_path / "clean.jpg")

    tags = tags_of(clean)
    assert not [name for name in tags if "GPS" in name]
    assert "EXIF:SerialNumber" not in tags
    expect(page.locator("#status")).to_contain_text("trip.jpg is ready")
    screenshot(page, "tools", tmp_path)


def test_strip_only_the_location_keeps_the_author_and_camera(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "trip.jpg")))
    page.get_by_label("Only the location").check()
    page.get_by_label("Also keep (optional)").fill("SerialNumber")
    clean = run_tool(page, "Strip and download", tmp_path / "clean.jpg")

    tags = tags_of(clean)
    assert not [name for name in tags if "GPS" in name]
    assert tags["EXIF:Artist"] == "Jane Doe"
    assert tags["EXIF:Model"] == "Canon EOS R5"
    assert tags["EXIF:SerialNumber"] == "SN123456"


def test_a_malformed_keep_list_is_explained_next_to_the_field(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "trip.jpg")))
    page.get_by_label("Also keep (optional)").fill("Artist;rm")
    page.get_by_role("button", name="Strip and download").click()
    expect(page.locator("#f-keep-error")).to_contain_text("Invalid keep item")


def test_edited_copyright_is_in_the_downloaded_file(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/edit")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "p.jpg")))
    page.get_by_label("Copyright notice").fill("2026 Web Tester")
    page.get_by_label("Title").fill("Harbour at dusk")
    edited = run_tool(page, "Process and download", tmp_path / "edited.jpg")

    tags = tags_of(edited)
    assert tags["EXIF:Copyright"] == "2026 Web Tester"
    assert tags["XMP:Title"] == "Harbour at dusk"


def test_geo_form_explains_bad_coordinates_next_to_the_field(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/geo")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "p.jpg")))
    page.get_by_label("Latitude").fill("123")
    page.get_by_label("Longitude").fill("east")
    page.get_by_role("button", name="Process and download").click()
    expect(page.locator("#f-latitude-error")).to_have_text(
        "The latitude must be between -90 and 90."
    )
    expect(page.locator("#f-longitude-error")).to_contain_text("must be a number")
    expect(page.get_by_label("Latitude")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Latitude").fill("-33.8568")
    page.get_by_label("Longitude").fill("151.2153")
    placed = run_tool(page, "Process and download", tmp_path / "placed.jpg")
    position = exiftool("-n", "-s3", "-GPSLatitude", "-GPSLongitude", str(placed)).split()
    assert [round(float(v), 4) for v in position] == [-33.8568, 151.2153]


def test_advanced_edit_writes_the_key_value_table(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/advanced")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "p.jpg")))
    page.get_by_label("Tag 1").fill("Artist")
    page.get_by_label("Value 1").fill("Studio <b>North</b>")
    page.get_by_role("button", name="Add a field").click()
    page.get_by_label("Tag 2").fill("bad tag!")
    page.get_by_label("Value 2").fill("x")
    page.get_by_role("button", name="Process and download").click()
    expect(page.locator("#kv-error")).to_contain_text('"bad tag!" is not a tag name')

    page.get_by_role("button", name="Remove field 2").click()
    edited = run_tool(page, "Process and download", tmp_path / "adv.jpg")
    assert tags_of(edited)["EXIF:Artist"] == "Studio <b>North</b>"


def test_sixth_image_of_the_day_shows_the_limit_and_upgrade_path(
    page: Page, server: Server, tmp_path: Path
) -> None:
    sign_up(page)
    photo = make_photo(tmp_path / "p.jpg")
    for _ in range(5):
        answer = page.request.post(
            "/api/images/strip-exif",
            headers={"Origin": server.url},
            multipart={
                "file": {"name": "p.jpg", "mimeType": "image/jpeg", "buffer": photo.read_bytes()}
            },
        )
        assert answer.status == 200
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(photo))
    page.get_by_role("button", name="Strip and download").click()

    status = page.locator("#status")
    expect(status).to_contain_text("Daily limit of 5 images reached")
    expect(status.get_by_role("link", name="Upgrade to Pro")).to_have_attribute("href", "/pricing")
    page.goto("/dashboard")
    expect(page.locator("#usage-text")).to_have_text("5 of 5 images today")
    expect(page.locator("#page-status")).to_contain_text("used all 5 of today's images")


def test_pro_user_creates_an_api_key_and_uses_it_with_curl(
    page: Page, server: Server, tmp_path: Path
) -> None:
    email = sign_up(page)
    server.admin("set-plan", "--email", email, "--plan", "pro")
    page.reload()
    expect(page.locator("#plan-name")).to_have_text("Pro")

    page.get_by_label("Key name").fill("ci <pipeline>")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_have_value(re.compile(r"^exs_\S{32,}$"))
    key = page.locator("#new-key-value").input_value()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    row = page.locator("#key-table tbody tr").filter(has_text="ci <pipeline>")
    expect(row).to_contain_text("Never")
    expect(row.locator("code")).not_to_have_text(key)

    photo = make_photo(tmp_path / "api.jpg")
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-H",
            f"X-API-Key: {key}",
            "-F",
            f"file=@{photo}",
            f"{server.url}/api/v1/extract",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    body = json.loads(out)
    assert body["success"] is True
    assert body["metadata"]["exif"]["Model"] == "Canon EOS R5"

    page.reload()
    row = page.locator("#key-table tbody tr").filter(has_text="ci <pipeline>")
    expect(row.locator("td").nth(3)).not_to_have_text("Never")
    screenshot(page, "dashboard", tmp_path)

    row.get_by_role("button", name="Revoke key ci <pipeline>").click()
    row.get_by_role("button", name="Yes, revoke").click()
    expect(page.locator("#key-status")).to_contain_text("revoked")
    expect(page.locator("#key-table tbody tr").filter(has_text="ci <pipeline>")).to_have_count(0)


def test_free_user_is_told_keys_and_bulk_need_pro(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    expect(page.locator("#key-status")).to_contain_text("API keys come with the Pro plan")
    page.get_by_label("Key name").fill("nope")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#key-status")).to_contain_text("Pro plan")
    expect(page.locator("#key-status").get_by_role("link", name="Upgrade to Pro")).to_be_visible()

    page.goto("/tools/bulk")
    page.get_by_label("Photos (up to 20)").set_input_files(str(make_photo(tmp_path / "a.jpg")))
    page.get_by_role("button", name="Process and download").click()
    expect(page.locator("#status")).to_contain_text("Pro")


def test_pro_bulk_strip_and_bulk_edit_return_zips(
    page: Page, server: Server, tmp_path: Path
) -> None:
    email = sign_up(page)
    server.admin("set-plan", "--email", email, "--plan", "pro")
    photos = [str(make_photo(tmp_path / f"bulk-{n}.jpg")) for n in range(3)]
    page.goto("/tools/bulk")
    page.get_by_label("Photos (up to 20)").set_input_files(photos)
    archive = run_tool(page, "Process and download", tmp_path / "out.zip")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["bulk-0.jpg", "bulk-1.jpg", "bulk-2.jpg"]
        first = tmp_path / "first.jpg"
        first.write_bytes(zf.read("bulk-0.jpg"))
    assert not [name for name in tags_of(first) if "GPS" in name]

    page.get_by_label("Write the same fields to every photo").check()
    page.get_by_label("Tag 1").fill("Copyright")
    page.get_by_label("Value 1").fill("2026 Bulk Owner")
    archive = run_tool(page, "Process and download", tmp_path / "edited.zip")
    with zipfile.ZipFile(archive) as zf:
        assert len(zf.namelist()) == 3
        (tmp_path / "e.jpg").write_bytes(zf.read(zf.namelist()[0]))
    assert tags_of(tmp_path / "e.jpg")["EXIF:Copyright"] == "2026 Bulk Owner"


def test_history_lists_processed_files_with_a_working_download(page: Page, tmp_path: Path) -> None:
    sign_up(page)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "<kept>.jpg")))
    run_tool(page, "Strip and download", tmp_path / "first.jpg")

    page.goto("/dashboard")
    row = page.locator("#history-table tbody tr").first
    expect(row).to_contain_text("<kept>.jpg")
    expect(row).to_contain_text("Available until")
    with page.expect_download() as download:
        row.get_by_role("link", name="Download <kept>.jpg").click()
    download.value.save_as(tmp_path / "again.jpg")
    assert not [name for name in tags_of(tmp_path / "again.jpg") if "GPS" in name]


def _age_past_the_download_window(server: Server, file_id: str) -> None:
    """Move one stored file's download deadline into the past, as 24 hours passing would."""
    import boto3

    state = json.loads((Path(server.env["EXIF_SERVICE_DATA_DIR"]) / "server.json").read_text())
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=state["awsEndpoint"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    dynamodb.update_item(
        TableName="exif-service-files",
        Key={"file_id": {"S": file_id}},
        UpdateExpression="SET download_expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000000+0000"}},
    )


def test_history_marks_an_expired_file_and_offers_no_download(
    page: Page, server: Server, tmp_path: Path
) -> None:
    if "EXIF_SERVICE_E2E_URL" in os.environ:
        pytest.skip("ages a record in the local server's own store")
    sign_up(page)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "old.jpg")))
    run_tool(page, "Strip and download", tmp_path / "old-clean.jpg")
    history = page.request.get("/api/images/history", headers={"Accept": "application/json"})
    _age_past_the_download_window(server, history.json()["images"][0]["id"])

    page.goto("/dashboard")
    row = page.locator("#history-table tbody tr").filter(has_text="old.jpg")
    expect(row).to_have_attribute("data-status", "expired")
    expect(row.locator(".badge-expired")).to_have_text("Expired")
    expect(row.get_by_role("link")).to_have_count(0)


def test_feedback_is_sent_from_the_dashboard(page: Page) -> None:
    sign_up(page)
    page.get_by_label("Message").fill("short")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#fb-message-error")).to_have_text("Please write at least 10 characters.")
    page.get_by_label("Message").fill("Please add presets for bulk edits.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-status")).to_contain_text("Thank you")


def test_admin_sees_files_downloads_and_purges_with_confirmation(
    page: Page, server: Server, tmp_path: Path
) -> None:
    email = unique_email("admin")
    server.admin(
        "create-user", "--email", email, "--plan", "pro", "--admin", "--password", PASSWORD
    )
    sign_in(page, email)
    page.goto("/tools/strip")
    page.get_by_label("Photo").set_input_files(str(make_photo(tmp_path / "<admin>.jpg")))
    run_tool(page, "Strip and download", tmp_path / "x.jpg")

    page.goto("/admin")
    rows = page.locator("#files-table tbody tr")
    expect(rows.filter(has_text="<admin>.jpg")).to_have_count(1)
    page.get_by_label("Status").select_option("deleted")
    page.get_by_role("button", name="Apply").click()
    expect(rows.filter(has_text="<admin>.jpg")).to_have_count(0)
    page.get_by_label("Status").select_option("available")
    page.get_by_role("button", name="Apply").click()
    with page.expect_download() as download:
        rows.filter(has_text="<admin>.jpg").get_by_role("link", name="Download <admin>.jpg").click()
    assert download.value.suggested_filename.endswith(".jpg")

    page.get_by_role("button", name="Purge deleted files…").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#purge-status")).to_be_empty()
    page.get_by_role("button", name="Purge deleted files…").click()
    page.get_by_role("button", name="Yes, purge permanently").click()
    expect(page.locator("#purge-status")).to_contain_text("Purged 0 files")
    screenshot(page, "admin", tmp_path)


def test_non_admin_is_told_the_admin_page_is_not_for_them(page: Page) -> None:
    sign_up(page)
    page.goto("/admin")
    expect(page.locator("#page-status")).to_contain_text("for administrators")


def test_signed_out_visitor_is_sent_to_sign_in_from_the_dashboard(page: Page) -> None:
    page.goto("/dashboard")
    page.wait_for_url("**/signin?next=%2Fdashboard")
    page.get_by_label("Email").fill(unique_email())
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_contain_text("do not match")


def test_upgrade_without_stripe_shows_a_friendly_message(page: Page) -> None:
    sign_up(page)
    page.get_by_role("button", name="Upgrade to Pro").click()
    expect(page.locator("#billing-status")).to_contain_text("Online payment is not set up")


def test_signed_in_pages_are_labelled_and_fit_a_phone(page: Page) -> None:
    sign_up(page)
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/dashboard", "/tools/strip", "/tools/edit", "/tools/geo", "/tools/advanced"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        assert page.evaluate(OVERFLOWS) is False, path


def test_sign_out_ends_the_session(page: Page) -> None:
    sign_up(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/dashboard")
    page.wait_for_url("**/signin?next=%2Fdashboard")


def test_sign_in_works_from_the_keyboard_with_a_visible_focus(page: Page) -> None:
    email = sign_up(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    page.goto("/signin")
    page.get_by_label("Email").focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    expect(page.locator("#who")).to_have_text(email)


def test_signing_up_twice_with_one_email_says_the_account_exists(page: Page) -> None:
    email = sign_up(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#status")).to_contain_text("already exists")
