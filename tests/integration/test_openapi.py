"""The OpenAPI document is valid, complete enough to generate a client from, and true to the
answers; the documentation page is served from the package under a strict CSP.

The client test generates a Python client from `/openapi.json` with openapi-python-client (once
per document: it is cached in the temp directory under the document's hash) and calls a real
HTTP server (uvicorn in a thread, over moto and the real ExifTool) with it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from tests.conftest import make_user
from tests.support.media import exiftool, make_photo
from tests.support.server import free_port
from tests.support.v1 import V1Stack

_GENERATOR = Path(sys.executable).with_name("openapi-python-client")
_PACKAGE = "exif_service_client"
# openapi-python-client reads JSON bodies; our files are answered in their own types
_GENERATOR_CONFIG = {
    "package_name_override": _PACKAGE,
    "project_name_override": "exif-service-client",
    "post_hooks": [],
    "content_type_overrides": {
        "image/*": "application/octet-stream",
        "application/zip": "application/octet-stream",
        "text/html": "text/plain",
    },
}


@pytest.fixture(scope="module")
def document(stack: V1Stack) -> dict[str, Any]:
    response = stack.client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _surface(path: str) -> str:
    if path.startswith(("/v1/", "/api/v1/files")):
        return "ImageKitError"
    if path.startswith(("/api/v1/", "/download-cleaned")):
        return "V1Error"
    return "ImagesError"


# ---------------------------------------------------------------- the document


def test_the_document_passes_an_openapi_validator(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_has_a_success_schema_and_its_surfaces_error_model(
    document: dict[str, Any],
) -> None:
    found = list(_operations(document))
    assert len(found) >= 40
    for method, path, operation in found:
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (method, path)
        body = responses[success[0]].get("content", {})
        if success[0] != "204":
            schemas = [media.get("schema") for media in body.values()]
            assert schemas and all(schemas), (method, path, body)
            assert {} not in schemas, (method, path)
        errors = {code: r for code, r in responses.items() if code[0] in "45"}
        assert errors, (method, path)
        model = _surface(path)
        for code, response in errors.items():
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{model}", (method, path, code)
        assert "HTTPValidationError" not in json.dumps(operation), (method, path)


def test_every_request_body_is_described(document: dict[str, Any]) -> None:
    bodiless = {
        ("POST", "/api/auth/sign-out"),
        ("POST", "/api/billing/checkout"),
        ("POST", "/api/billing/portal"),
        ("POST", "/api/admin/files/purge"),
    }
    for method, path, operation in _operations(document):
        if method not in ("POST", "PUT", "PATCH") or (method, path) in bodiless:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        assert content, (method, path)
        for media in content.values():
            schema = media["schema"]
            described = ("properties", "$ref", "type", "anyOf")
            assert any(schema.get(key) for key in described), (method, path, schema)


def test_file_bodies_name_their_fields_types_limits_and_allowed_values(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]

    def form(path: str) -> dict[str, Any]:
        body = paths[path]["post"]["requestBody"]["content"]["multipart/form-data"]
        schema: dict[str, Any] = body["schema"]
        return schema

    extract = form("/api/v1/extract")["properties"]
    assert extract["file"]["format"] == "binary"
    assert "At most 25 MB" in extract["file"]["description"]
    assert extract["url"]["format"] == "uri"
    geo = form("/api/images/geo-exif")
    assert set(geo["required"]) == {"file", "latitude", "longitude"}
    assert geo["properties"]["latitude"] == {"type": "number", "minimum": -90, "maximum": 90}
    seo = form("/api/images/seo-exif")
    assert {"name", "title", "description", "city", "keywords", "url"} <= set(seo["required"])
    edit = form("/api/images/edit-exif")["properties"]
    assert edit["mode"]["enum"] == ["append", "overwrite"]
    assert {"title", "copyright", "creatorEmail", "webFileName"} <= set(edit)
    assert form("/api/images/advanced-edit")["required"] == ["file", "fields"]
    bulk = form("/api/images/strip-exif-bulk")["properties"]["files"]
    assert bulk["maxItems"] == 20 and bulk["items"]["format"] == "binary"
    upload = form("/api/v1/files/upload")
    assert upload["required"] == ["file", "fileName"]
    assert upload["properties"]["useUniqueFileName"]["enum"] == ["true", "false"]
    grant = paths["/api/v1/uploads"]["post"]["requestBody"]["content"]["application/json"]
    assert grant["schema"]["properties"]["operation"]["enum"] == ["extract", "remove"]
    sign_in = paths["/api/auth/sign-in/email"]["post"]["requestBody"]["content"]
    assert "application/json" in sign_in


def test_the_size_limit_is_this_deployments(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Lambda the request cap is lower than the upload limit: the document says so."""
    from exif_service.api.app import create_app
    from exif_service.api.v1.router import extract_router
    from exif_service.settings import get_settings

    monkeypatch.setenv("EXIF_SERVICE_MAX_REQUEST_BYTES", str(4 * 1024 * 1024))
    get_settings.cache_clear()
    document = create_app(extract_router).openapi()
    part = document["paths"]["/api/v1/extract"]["post"]["requestBody"]["content"]
    assert (
        "At most 4 MB (4194304 bytes)"
        in part["multipart/form-data"]["schema"]["properties"]["file"]["description"]
    )


def test_each_operation_names_the_ways_it_accepts_a_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKeyHeader"]["description"],
    }
    assert (schemes["apiKeyQuery"]["in"], schemes["apiKeyQuery"]["name"]) == ("query", "key")
    assert (schemes["bearer"]["type"], schemes["bearer"]["scheme"]) == ("http", "bearer")
    assert (schemes["basic"]["type"], schemes["basic"]["scheme"]) == ("http", "basic")
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "exs_session")

    def security(method: str, path: str) -> list[dict[str, list[str]]] | None:
        found: list[dict[str, list[str]]] | None = document["paths"][path][method].get("security")
        return found

    v1 = [{"apiKeyHeader": []}, {"apiKeyQuery": []}]
    assert security("post", "/api/v1/extract") == v1
    assert security("post", "/api/v1/remove") == v1
    assert security("post", "/api/v1/uploads") == v1
    assert security("get", "/api/v1/extract/{job_uuid}") == [{}, *v1]
    assert security("get", "/download-cleaned/{job_uuid}") is None
    tools = [{"bearer": []}, {"session": []}]
    assert security("post", "/api/images/strip-exif") == tools
    assert security("post", "/api/admin/files/purge") == tools
    assert security("get", "/api/keys") == tools
    assert security("post", "/api/keys") == [{"session": []}]
    assert security("post", "/api/images/view-exif") is None
    assert security("post", "/api/feedback") == [{}, {"session": []}]
    assert security("post", "/api/v1/files/upload") == [{"basic": []}]
    assert security("get", "/v1/files/{file_id}/content") == [{}, {"basic": []}]
    assert security("post", "/api/billing/webhook") is None


def test_charging_posts_take_an_idempotency_key_and_answer_rate_limit_headers(
    document: dict[str, Any],
) -> None:
    for path in ("/api/v1/extract", "/api/images/strip-exif", "/api/v1/files/upload"):
        operation = document["paths"][path]["post"]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers.count("Idempotency-Key") == 1, path
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            operation["responses"]["200"]["headers"]
        )
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    view = document["paths"]["/api/images/view-exif"]["post"]
    assert not any(p["name"] == "Idempotency-Key" for p in view.get("parameters", []))


def test_every_example_fits_its_schema(document: dict[str, Any]) -> None:
    """Examples are trimmed copies of real answers: they must still be valid answers."""
    components = document["components"]
    checked = 0
    for name, schema in components["schemas"].items():
        for example in schema.get("examples", []):
            validator = Draft202012Validator({**schema, "components": components})
            assert not [e.message for e in validator.iter_errors(example)], name
            checked += 1
    for method, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                if "example" in media and "schema" in media:
                    schema = {**media["schema"], "components": components}
                    errors = Draft202012Validator(schema).iter_errors(media["example"])
                    assert not [e.message for e in errors], (method, path, code)
                    checked += 1
    assert checked >= 30


# ---------------------------------------------------------------- the document against answers


def _check(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The answer's status is documented for the operation, and its JSON body fits the schema."""
    operation = document["paths"][path][method.lower()]
    code = str(response.status_code)
    assert code in operation["responses"], (method, path, code, response.text)
    content = operation["responses"][code].get("content", {})
    if response.headers.get("content-type", "").startswith("application/json") and content:
        schema = content["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert not errors, (method, path, code, errors)
    documented = {name.lower() for name in operation["responses"][code].get("headers", {})}
    sent = {name.lower() for name in response.headers if name.lower().startswith("x-ratelimit")}
    listed = {name for name in documented if name.startswith("x-ratelimit")}
    assert sent <= listed, (method, path, code, sent, listed)
    if code.startswith("2") or code == "429":
        assert sent == listed, (method, path, code, sent, listed)
    examples = [m.get("example") for m in content.values() if m.get("example")]
    for example in examples:
        schema = content["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        assert not list(validator.iter_errors(example)), (method, path, code)


def test_the_answers_are_the_documented_ones(
    stack: V1Stack, document: dict[str, Any], tmp_path: Path
) -> None:
    client = stack.client
    photo = make_photo(tmp_path / "photo.jpg").read_bytes()
    free = make_user("openapi-free@example.com", "free")
    key = {"X-API-Key": stack.user.key}
    bearer = {"Authorization": f"Bearer {stack.user.key}"}
    basic_token = base64.b64encode(f"{stack.user.key}:".encode()).decode()
    basic = {"Authorization": f"Basic {basic_token}"}

    def file() -> dict[str, Any]:
        return {"file": ("photo.jpg", photo, "image/jpeg")}

    calls: list[tuple[str, str, httpx.Response]] = []

    def call(method: str, path: str, url: str | None = None, **kwargs: Any) -> httpx.Response:
        response = client.request(method, url or path, **kwargs)
        calls.append((method, path, response))
        return response

    extracted = call("POST", "/api/v1/extract", headers=key, files=file())
    call("POST", "/api/v1/extract", files=file())
    call("POST", "/api/v1/extract", headers={"X-API-Key": free.key}, files=file())
    call("POST", "/api/v1/extract", headers=key)
    call("POST", "/api/v1/extract", headers=key, files={"file": ("a.txt", b"hello")})
    uuid = extracted.json()["uuid"]
    call("GET", "/api/v1/extract/{job_uuid}", f"/api/v1/extract/{uuid}", headers=key)
    call("GET", "/api/v1/extract/{job_uuid}", "/api/v1/extract/nope", headers=key)
    call("POST", "/api/v1/extract/batch", headers=key, json={"urls": ["http://127.0.0.1/a"]})
    removed = call("POST", "/api/v1/remove", headers=key, files=file()).json()
    call("GET", "/download-cleaned/{job_uuid}", f"/download-cleaned/{removed['uuid']}")
    call("POST", "/api/v1/privacy", headers=key, files=file())
    once = {**key, "Idempotency-Key": f"openapi-{time.time_ns()}"}
    call("POST", "/api/v1/remove", headers=once, files=file())
    call("POST", "/api/v1/remove", headers=once, files=file(), data={"preset": "all"})
    call("POST", "/api/v1/remove", headers={**key, "Idempotency-Key": "k" * 300}, files=file())
    call("POST", "/api/v1/uploads", headers=key, json={"fileName": "big.mov"})
    call("POST", "/api/v1/uploads", headers=key, json={"operation": "x"})
    call("POST", "/api/images/view-exif", files=file())
    call("POST", "/api/images/privacy-report", files=file())
    call("POST", "/api/images/strip-exif", headers=bearer, files=file())
    call("POST", "/api/images/strip-exif", files=file())
    call("POST", "/api/images/geo-exif", headers=bearer, files=file(), data={"latitude": "99"})
    call("GET", "/api/images/history", headers={**bearer, "Accept": "application/json"})
    call("GET", "/api/keys", headers=bearer)
    call("GET", "/api/billing/status", headers=bearer)
    call("POST", "/api/admin/files/purge", headers=bearer)
    uploaded = call(
        "POST", "/api/v1/files/upload", headers=basic, files=file(), data={"fileName": "p.jpg"}
    ).json()
    call("POST", "/api/v1/files/upload", files=file(), data={"fileName": "p.jpg"})
    call("GET", "/v1/files", headers=basic)
    file_id = uploaded["fileId"]
    call("GET", "/v1/files/{file_id}/details", f"/v1/files/{file_id}/details", headers=basic)
    call("GET", "/v1/files/{file_id}/metadata", f"/v1/files/{file_id}/metadata", headers=basic)
    call("GET", "/v1/files/{file_id}/details", "/v1/files/nope/details", headers=basic)
    call("GET", "/v1/phash-distance", headers=basic, params={"a": file_id, "b": "0" * 16})
    call("DELETE", "/v1/files/{file_id}", f"/v1/files/{file_id}", headers=basic)
    call("POST", "/api/images/view-exif", files={"file": ("a.txt", b"no")})

    statuses = {r.status_code for _, _, r in calls}
    assert {200, 204, 400, 401, 403, 404, 415, 422} <= statuses
    for method, path, response in calls:
        _check(document, method, path, response)


# ---------------------------------------------------------------- a generated client


@pytest.fixture(scope="module")
def served(stack: V1Stack) -> Iterator[str]:
    """The same app as `stack`, on a real socket (uvicorn in a thread), for the client."""
    port = free_port()
    config = uvicorn.Config(
        stack.client.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def generated(served: str) -> Iterator[ModuleType]:
    """The client openapi-python-client generates from the served document (cached)."""
    text = httpx.get(f"{served}/openapi.json", timeout=30).text
    digest = hashlib.sha256((text + json.dumps(_GENERATOR_CONFIG)).encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"exif-service-openapi-client-{digest}"
    if not (target / _PACKAGE / "__init__.py").exists():
        _generate(text, target)
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module(_PACKAGE)
    finally:
        sys.path.remove(str(target))
        for name in [n for n in sys.modules if n.split(".")[0] == _PACKAGE]:
            del sys.modules[name]


def _generate(document: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="exif-service-openapi-") as scratch:
        work = Path(scratch)
        (work / "openapi.json").write_text(document)
        (work / "config.json").write_text(json.dumps(_GENERATOR_CONFIG))
        result = subprocess.run(
            [
                str(_GENERATOR),
                "generate",
                "--path",
                str(work / "openapi.json"),
                "--config",
                str(work / "config.json"),
                "--meta",
                "none",
                "--output-path",
                str(work / "client" / _PACKAGE),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # nothing the generator could not express may be left out of the client
        assert "Warning" not in result.stdout, result.stdout
        with contextlib.suppress(OSError):  # another worker may have put the same client there
            (work / "client").replace(target)


def _api(client_package: ModuleType, surface: str, operation: str) -> Any:
    return importlib.import_module(f"{client_package.__name__}.api.{surface}.{operation}")


def _model(client_package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{client_package.__name__}.models"), name)


def test_a_generated_client_extracts_metadata(
    generated: ModuleType, served: str, stack: V1Stack, tmp_path: Path
) -> None:
    from_package = importlib.import_module(f"{_PACKAGE}.types")
    photo = make_photo(tmp_path / "photo.jpg")
    client = generated.AuthenticatedClient(
        base_url=served, token=stack.user.key, prefix="", auth_header_name="X-API-Key"
    )
    body = _model(generated, "V1ExtractFilesBody")(
        file=from_package.File(
            payload=io.BytesIO(photo.read_bytes()), file_name="photo.jpg", mime_type="image/jpeg"
        )
    )
    extract = _api(generated, "v1", "v1_extract")
    with client:
        answer = extract.sync_detailed(client=client, body=body)
    assert answer.status_code == 200, answer.content
    extraction = answer.parsed
    assert isinstance(extraction, _model(generated, "Extraction"))
    assert extraction.success is True and extraction.file_name == "photo.jpg"
    groups = extraction.metadata.to_dict()
    assert groups["exif"]["Artist"] == "Jane Doe"
    assert groups["File"]["Type"] == "image/jpeg"
    assert re.fullmatch(r"[0-9a-f-]{36}", extraction.uuid)
    assert int(answer.headers["x-ratelimit-limit"]) == 300

    stranger = generated.AuthenticatedClient(
        base_url=served, token="exs_" + "x" * 40, prefix="", auth_header_name="X-API-Key"
    )
    with stranger:
        refused = extract.sync_detailed(client=stranger, body=body)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, _model(generated, "V1Error"))
    assert refused.parsed.error == "Invalid API key"


def test_a_generated_client_strips_a_photo(
    generated: ModuleType, served: str, stack: V1Stack, tmp_path: Path
) -> None:
    from_package = importlib.import_module(f"{_PACKAGE}.types")
    photo = make_photo(tmp_path / "photo.jpg")
    client = generated.AuthenticatedClient(base_url=served, token=stack.user.key)
    preset = _model(generated, "ImagesStripExifBodyPreset")
    body = _model(generated, "ImagesStripExifBody")(
        file=from_package.File(
            payload=io.BytesIO(photo.read_bytes()), file_name="photo.jpg", mime_type="image/jpeg"
        ),
        preset=preset.SENSITIVE,
    )
    strip = _api(generated, "images", "images_strip_exif")
    with client:
        answer = strip.sync_detailed(client=client, body=body)
    assert answer.status_code == 200, answer.content
    assert answer.headers["x-metadata-verified"] == "true"
    cleaned = tmp_path / "cleaned.jpg"
    cleaned.write_bytes(answer.parsed.payload.read())
    tags = json.loads(exiftool("-j", "-a", "-G1", str(cleaned)))[0]
    names = set(tags)
    assert not {n for n in names if n.startswith("GPS:")}
    assert "ExifIFD:SerialNumber" not in names
    assert tags["File:FileType"] == "JPEG"
    # sensitive keeps authorship and camera settings
    assert tags["IFD0:Artist"] == "Jane Doe" and tags["IFD0:Make"] == "Canon"

    plain = generated.Client(base_url=served)
    with plain:
        refused = strip.sync_detailed(client=plain, body=body)
    assert refused.status_code == 401
    assert refused.parsed.message == "Unauthorized: sign in or send a valid API key."


# ---------------------------------------------------------------- the documentation page


def test_the_docs_page_and_its_assets_come_from_this_origin_under_a_strict_csp(
    stack: V1Stack,
) -> None:
    client = stack.client
    page = client.get("/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe" not in csp and "http" not in csp
    html = page.text
    assert "<script>" not in html and "onload" not in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), html
    assert "http://" not in html and "https://" not in html
    sources = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert sorted(sources) == [
        "/docs/assets/docs.js",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert asset.headers["content-security-policy"] == csp
        kind = "text/css" if source.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].startswith(kind)
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/assets/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_the_web_pages_function_serves_the_whole_document_and_the_page(stack: V1Stack) -> None:
    """On AWS /docs and /openapi.json reach the web pages' function, which runs no API route."""
    from exif_service.api.app import create_app
    from exif_service.api.surfaces import API_SURFACES
    from exif_service.web.errors import SURFACE as WEB
    from exif_service.web.router import web_router

    web = TestClient(create_app(web_router, surfaces=(*API_SURFACES, WEB)))
    page = web.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert web.get("/docs/assets/swagger-ui.css").status_code == 200
    document = web.get("/openapi.json").json()
    assert document == stack.client.get("/openapi.json").json() | {"info": document["info"]}
    assert "/api/v1/extract" in document["paths"] and "/v1/files" in document["paths"]
