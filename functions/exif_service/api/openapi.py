"""The OpenAPI document: request bodies, error responses, security and headers, in one place.

Routes that read their form through a dependency (streamed, size-capped) declare no body
parameters to FastAPI, so the document would show none; `file_body` and the other bodies here
describe them instead, through `openapi_extra` on the route decorators. Each surface's error
model and examples live in its `schemas.py`; `error_responses` turns them into `responses=`.

`install_openapi` makes every app serve the document of the whole API (on AWS the docs reach
the web pages' function), built from every router once and finished here:
- the security schemes, applied to each operation from the auth dependency it uses;
- the upload size limit of this deployment on every file part;
- the optional `Idempotency-Key` header (and its 409 and 422) where the middleware takes it;
- the `X-RateLimit-*` headers on the answers of operations that count against a quota;
- no default 422 validation body: every surface answers a malformed request with its own 400;
- short operation ids (`v1_extract`), which generated clients name their functions after.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, get_args

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.config import ExtraValues
from starlette.routing import BaseRoute

from exif_service.settings import get_settings

MB = 1024 * 1024

PRESET = {
    "type": "string",
    "enum": ["safe", "all", "location", "sensitive"],
    "default": "safe",
    "description": "What the strip removes (`none` is accepted as `all`).",
}
KEEP = {
    "type": "string",
    "description": "Tags kept besides the preset: `Tag,Group:Tag,Group:all`; `c2pa` keeps the "
    "Content Credentials manifest (it then no longer validates).",
    "example": "XMP-dc:Creator,IPTC:all",
}
_FILE: dict[str, Any] = {"type": "string", "format": "binary"}
_TEXT: dict[str, Any] = {"type": "string"}
_URL: dict[str, Any] = {"type": "string", "format": "uri", "maxLength": 2048}
MODE: dict[str, Any] = {
    "type": "string",
    "enum": ["append", "overwrite"],
    "default": "append",
    "description": "`append` keeps the file's other metadata; `overwrite` clears it first "
    "(the colour profile stays).",
}
WEB_FILE_NAME: dict[str, Any] = {
    "type": "string",
    "description": "The name the processed file is stored and downloaded under.",
}
FIELDS_JSON: dict[str, Any] = {
    "type": "string",
    "maxLength": 64 * 1024,
    "description": 'A JSON object of tag names and values: `{"XMP-dc:Title": "Paris"}`; '
    'a list value writes a list tag, `{"add": [...], "remove": [...]}` edits one.',
    "example": '{"IPTC:Keywords": ["paris", "night"], "XMP-dc:Title": "Paris"}',
}


def wire_config(
    *examples: Any, frozen: bool | None = None, extra: ExtraValues | None = None
) -> ConfigDict:
    """A wire model's config: field names by alias or name, and its documented examples (what
    is not given is inherited, as with a plain ConfigDict)."""
    config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": list(examples)})
    if frozen is not None:
        config["frozen"] = frozen
    if extra is not None:
        config["extra"] = extra
    return config


def file_body(
    *,
    many: bool = False,
    url: bool = True,
    required: Iterable[str] = (),
    text: Mapping[str, dict[str, Any]] | None = None,
    **fields: dict[str, Any],
) -> dict[str, Any]:
    """`openapi_extra` for a multipart body with one file (or many) and text `fields` (also
    given as `text`, for names such as `url`); with `url`, also a JSON body naming a public URL
    instead of the file."""
    fields = {**(text or {}), **fields}
    name = "files" if many else "file"
    part = {"type": "array", "items": _FILE, "maxItems": 20} if many else _FILE
    properties: dict[str, Any] = {name: part, **fields}
    multipart: dict[str, Any] = {"type": "object", "properties": properties}
    if not url:
        multipart["required"] = [name, *required]
    content: dict[str, Any] = {"multipart/form-data": {"schema": multipart}}
    if url:
        properties["url"] = _URL
        json_schema = {
            "type": "object",
            "properties": {"url": _URL, **fields},
            "required": ["url"],
        }
        content["application/json"] = {"schema": json_schema}
    return {"requestBody": {"required": True, "content": content}}


def text_fields(names: Iterable[str], **schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Plain text form fields by name, with `schemas` for those that need more."""
    return {name: schemas.get(name, _TEXT) for name in names}


BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": _FILE, "maxItems": 20},
                        "urls": {"type": "string", "description": "a JSON array of URLs"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "urls": {
                            "type": "array",
                            "items": {"type": "string", "format": "uri"},
                            "maxItems": 20,
                        }
                    },
                    "required": ["urls"],
                }
            },
        },
    }
}

_UPLOAD_GRANT_FIELDS: dict[str, Any] = {
    "operation": {"type": "string", "enum": ["extract", "remove"], "default": "extract"},
    "fileName": {"type": "string", "description": "The file's name, kept for the results."},
    "callbackUrl": {
        "type": "string",
        "format": "uri",
        "description": "Called with the job's result when processing ends (signed).",
    },
    "preset": PRESET,
    "keep": KEEP,
}
UPLOAD_GRANT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "The same fields may be sent as a form or in the query string.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": _UPLOAD_GRANT_FIELDS},
                "example": {"fileName": "holiday.mov", "operation": "remove", "preset": "safe"},
            },
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": _UPLOAD_GRANT_FIELDS}
            },
        },
    }
}

IMAGEKIT_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "description": "The file: a binary part, a base64 string (a data: "
                            "URI too), or an http(s) URL to fetch.",
                            "oneOf": [_FILE, {"type": "string"}],
                        },
                        "fileName": {"type": "string", "minLength": 1},
                        "folder": {"type": "string", "default": "/"},
                        "tags": {
                            "type": "string",
                            "description": "Comma-separated, at most 30 of 100 characters.",
                        },
                        "useUniqueFileName": {
                            "type": "string",
                            "enum": ["true", "false"],
                            "default": "true",
                        },
                        "responseFields": {
                            "type": "string",
                            "description": "Comma-separated extra fields of the answer: "
                            "`metadata`, `embeddedMetadata`, `tags`.",
                        },
                    },
                    "required": ["file", "fileName"],
                }
            }
        },
    }
}

STRIPE_WEBHOOK_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": "Stripe-Signature",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "The signature of the exact body, checked with the webhook secret.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}

# Operations that take the session cookie but no key (or none at all): not found by the walk
# over dependencies below because they read the cookie in the route itself.
OPTIONAL_SESSION: dict[str, Any] = {"security": [{}, {"session": []}]}
PUBLIC: dict[str, Any] = {"security": [{}]}

_RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
}

_STATUS_TEXT = {
    400: "A parameter is missing or not valid.",
    401: "No valid key (or session) was sent.",
    403: "The key's owner is not allowed this: no Pro plan, not an administrator, or a "
    "cross-site browser request.",
    404: "No such resource, or not the caller's.",
    410: "The file's 24-hour download window has passed.",
    413: "The file or the request body is larger than this deployment accepts.",
    415: "The file is not an image or media file the engine reads.",
    422: "The result failed its verification (nothing was charged).",
    429: "The plan's daily allowance (or the per-address limit) is used up.",
    500: "An unexpected fault; the body carries the request id of the log line.",
    503: "A dependency (storage, the engine, billing) is unavailable; try again later.",
}


def error_responses(
    model: type[BaseModel], examples: Mapping[int, Any], codes: Iterable[int]
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the error `codes` of one operation, in a surface's envelope."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": model, "description": _STATUS_TEXT[code]}
        if code in examples:
            entry["content"] = {"application/json": {"example": examples[code]}}
        out[code] = entry
    return out


def throttled_response(model: type[BaseModel], message: str) -> dict[int | str, Any]:
    """The 429 of an endpoint throttled per account or address (sign-in, sign-up, feedback)."""
    return {
        429: {
            "model": model,
            "description": "Too many attempts from this account or address for now.",
            "headers": {"Retry-After": _RETRY_AFTER},
            "content": {
                "application/json": {
                    "example": {"ok": False, "error": "too_many_attempts", "message": message}
                }
            },
        }
    }


def ok_response(model: Any, description: str, example: Any = None) -> dict[int | str, Any]:
    """The `responses=` entry of a JSON success answer: `model` a pydantic model (or a list of
    them), `example` one trimmed real answer."""
    entry: dict[str, Any] = {"model": model, "description": description}
    if example is not None:
        entry["content"] = {"application/json": {"example": example}}
    return {200: entry}


def file_response(
    description: str, *, media_type: str = "application/octet-stream", redirect: int | None = None
) -> dict[int | str, Any]:
    """The `responses=` entries of an answer that is a file (or a redirect to a stored one)."""
    out: dict[int | str, Any] = {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment, with the file's name",
                    "schema": {"type": "string"},
                },
            },
        }
    }
    if redirect is not None:
        out[redirect] = {
            "description": "On AWS, a redirect to a short-lived presigned address of the file "
            "(larger results, and every kept file).",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    return out


VERIFIED_HEADERS: dict[str, Any] = {
    "X-Metadata-Verified": {
        "description": "`true`: the engine re-read the file before it was returned.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Metadata-Kept": {
        "description": "What stayed for a stated reason, `; `-separated (when anything did).",
        "schema": {"type": "string"},
    },
    "X-Content-Credentials": {
        "description": "What happened to the file's C2PA manifest: `removed`, `kept` (no longer "
        "valid) or `none` (it had none).",
        "schema": {"type": "string", "enum": ["removed", "kept", "none"]},
    },
}


def verified_file_response(description: str, media_type: str) -> dict[int | str, Any]:
    """A processed file: the bytes, or a 303 to the kept copy when too large for Lambda."""
    out = file_response(description, media_type=media_type, redirect=303)
    out[200]["headers"].update(VERIFIED_HEADERS)
    out[303]["headers"].update(VERIFIED_HEADERS)
    return out


# ---------------------------------------------------------------- finishing the document

# the session cookie's name is `api.images.session.SESSION_COOKIE`, filled in by `describe`
SECURITY_SCHEMES: dict[str, Any] = {
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`exs_...`) of a Pro account (v1 surface).",
    },
    "apiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "The same key as a query parameter (v1 surface).",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "exs_...",
        "description": "An API key of a Pro account (image tools, keys, billing, admin).",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The API key as the user name, any password (ImageKit surface).",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "",
        "description": "The browser session set by sign-in (any plan); requests that change "
        "state must come from this site's own pages.",
    },
}


def _dependency_of(alias: Any) -> Callable[..., Any]:
    """The callable behind an `Annotated[..., Depends(...)]` alias."""
    found: Callable[..., Any] = get_args(alias)[1].dependency
    return found


Requirements = list[dict[str, list[str]]]


@cache
def _security_table() -> dict[Callable[..., Any], Requirements]:
    """Auth dependency -> the ways it accepts (an empty requirement: it may be left out)."""
    # imported here: a Lambda serving one surface need not import the others to start
    from exif_service.api.imagekit import deps as imagekit_deps
    from exif_service.api.images.session import images_account, session_account
    from exif_service.api.v1 import deps as v1_deps

    return {
        _dependency_of(v1_deps.KeyOwner): [{"apiKeyHeader": []}, {"apiKeyQuery": []}],
        _dependency_of(v1_deps.OptionalKeyOwner): [
            {},
            {"apiKeyHeader": []},
            {"apiKeyQuery": []},
        ],
        _dependency_of(imagekit_deps.KeyOwner): [{"basic": []}],
        _dependency_of(imagekit_deps.OptionalKeyOwner): [{}, {"basic": []}],
        images_account: [{"bearer": []}, {"session": []}],
        session_account: [{"session": []}],
    }


IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Any unique string. A retry with the same key and body within 24 hours "
    "gets the first answer and is not charged again; the same key with another body is a 422.",
}


def _rate_limit_headers(path: str, code: str) -> dict[str, Any]:
    """The allowance headers of one answer of an operation that counts an image."""
    imagekit = path.startswith(("/v1/", "/api/v1/files"))
    unit = "Milliseconds" if imagekit else "Seconds"
    # an error after the image was counted (and given back) still says what is left
    when = "" if code.startswith("2") or code == "429" else "When the image had been counted: "
    headers: dict[str, Any] = {
        "X-RateLimit-Limit": {
            "description": f"{when}the plan's images per day (per address on public tools).",
            "schema": {"type": "integer"},
        },
        "X-RateLimit-Remaining": {
            "description": f"{when}images left today.",
            "schema": {"type": "integer"},
        },
        "X-RateLimit-Reset": {
            "description": f"{when}{unit.lower()} until the count starts again at 00:00 UTC.",
            "schema": {"type": "integer"},
        },
    }
    if imagekit:
        headers["X-RateLimit-Interval"] = {
            "description": f"{when}the allowance's period: 86400000 (a day, in milliseconds).",
            "schema": {"type": "integer"},
        }
    if code == "429":
        headers["Retry-After"] = {
            "description": "Seconds until the count starts again (at least 1).",
            "schema": {"type": "integer"},
        }
    return headers


# Answered before anything is counted: no allowance headers.
_BEFORE_COUNTING = frozenset({"401", "403", "409"})


DESCRIPTION = """Read, strip and write image and media metadata with ExifTool, over three
surfaces that share one account, one key and one daily quota:

- **v1** (`/api/v1/extract`, `/api/v1/remove`, `/api/v1/uploads`, ...): the key in `X-API-Key`
  or `?key=`; errors are `{"success": false, "error"}`.
- **images** (`/api/images/*`, keys, billing, admin, auth): the key as `Authorization: Bearer`,
  or the browser session; errors are `{"ok": false, "message", ...}`.
- **ImageKit-compatible** (`/api/v1/files/upload`, `/v1/files`, `/v1/metadata`): HTTP Basic with
  the key as the user name; errors are `{"message", "help"}`.
"""


def api_routers() -> list[APIRouter]:
    """Every router of the public API, as the local all-in-one app serves them."""
    # imported here: the document is built on its first request, not when a Lambda starts
    from exif_service.api.imagekit.router import imagekit_router
    from exif_service.api.images.admin_router import admin_router
    from exif_service.api.images.auth_router import auth_router
    from exif_service.api.images.billing_router import billing_router
    from exif_service.api.images.feedback_router import feedback_router
    from exif_service.api.images.keys_router import keys_router
    from exif_service.api.images.router import images_router
    from exif_service.api.v1.router import download_router, extract_router, remove_router
    from exif_service.api.v1.uploads_router import uploads_router

    return [
        extract_router,
        remove_router,
        download_router,
        uploads_router,
        auth_router,
        keys_router,
        billing_router,
        feedback_router,
        images_router,
        admin_router,
        imagekit_router,
    ]


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` the document of the whole API (see the module docstring).

    Every app serves the same document, whichever routers it runs: on AWS, `/openapi.json` and
    `/docs` reach the web pages' function, which serves no API route itself.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            routes = [route for router in api_routers() for route in router.routes]
            schema = get_openapi(
                title=app.title, version=app.version, description=DESCRIPTION, routes=routes
            )
            # a copy: FastAPI's document shares the body dicts of `openapi_extra` above
            schema = copy.deepcopy(schema)
            describe(schema, routes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Finish a FastAPI-built document in place."""
    # imported here, like the routers: building the document is the only use
    from exif_service.api.idempotency import covered  # the middleware's own list of paths
    from exif_service.api.images.session import SESSION_COOKIE

    security = {
        (method.lower(), context.path_format): _security_of(context.dependant)
        for context in iter_route_contexts(list(routes))
        if isinstance(context.original_route, APIRoute) and context.original_route.include_in_schema
        for method in context.methods or ()
    }
    settings = get_settings()
    limit = min(settings.max_request_bytes or settings.max_upload_bytes, settings.max_upload_bytes)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            found = security.get((method, path))
            if found and "security" not in operation:
                operation["security"] = found
            if operation.get("security") == [{}]:
                del operation["security"]  # declared public: no requirement to show
            _drop_default_validation_error(operation)
            _describe_file_parts(operation, limit)
            # the key is scoped to the caller: public operations ignore it
            if covered(method.upper(), path) and operation.get("security"):
                _describe_idempotency(operation, _error_model_of(operation))
            operation["responses"] = dict(sorted(operation.get("responses", {}).items()))
            responses = operation.get("responses", {})
            if "503" in responses:
                responses["503"].setdefault("headers", {}).setdefault("Retry-After", _RETRY_AFTER)
            # a 429 that names its own Retry-After is a throttle, not the daily quota
            if "429" in responses and "Retry-After" not in responses["429"].get("headers", {}):
                for code, response in responses.items():
                    if code[0] in "2345" and code not in _BEFORE_COUNTING:
                        headers = response.setdefault("headers", {})
                        for name, header in _rate_limit_headers(path, code).items():
                            headers.setdefault(name, header)
    components = schema.setdefault("components", {})
    _name_operations(schema, routes)
    schemes = copy.deepcopy(SECURITY_SCHEMES)
    schemes["session"]["name"] = SESSION_COOKIE
    components.setdefault("securitySchemes", {}).update(schemes)
    _restore_examples(components.get("schemas", {}), routes)
    _drop_unused_validation_schemas(schema)


def _name_operations(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """`<tag>_<function>` operation ids (`v1_extract`, `images_strip_exif`): what generated
    clients name their functions and body models after."""
    names = {
        (method.lower(), route.path_format): route.name
        for route in routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    chosen: dict[tuple[str, str], str] = {}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            name, tags = names.get((method, path)), operation.get("tags") or []
            if name and tags:
                chosen[(path, method)] = f"{tags[0]}_{name}"
    if len(set(chosen.values())) == len(chosen):  # else keep FastAPI's, which are unique
        for (path, method), operation_id in chosen.items():
            schema["paths"][path][method]["operationId"] = operation_id


def _restore_examples(schemas: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Put the response models' examples back whole: FastAPI drops every `null` from the
    document, so an example whose answer has a null field would no longer fit its schema."""
    for model in _response_models(routes):
        built = TypeAdapter(model).json_schema(by_alias=True, mode="serialization")
        named = dict(built.get("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            named[model.__name__] = built
        for name, found in named.items():
            if "examples" in found and name in schemas:
                schemas[name]["examples"] = found["examples"]


def _response_models(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    for route in routes:
        if isinstance(route, APIRoute):
            for response in route.responses.values():
                if isinstance(response, dict) and response.get("model") is not None:
                    yield response["model"]


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _security_of(dependant: Dependant) -> Requirements | None:
    table = _security_table()
    for sub in _dependencies(dependant):
        if sub.call is not None and sub.call in table:
            return table[sub.call]
    return None


def _drop_default_validation_error(operation: dict[str, Any]) -> None:
    responses = operation.get("responses", {})
    default = responses.get("422", {}).get("content", {}).get("application/json", {})
    if default.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]


def _drop_unused_validation_schemas(schema: dict[str, Any]) -> None:
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in repr(schema):
            schemas.pop(name, None)


def _describe_file_parts(operation: dict[str, Any], limit: int) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    multipart = content.get("multipart/form-data", {}).get("schema", {})
    size = f"At most {limit // MB} MB ({limit} bytes) per request on this deployment."
    for part in multipart.get("properties", {}).values():
        if part.get("format") == "binary" or part.get("items", {}).get("format") == "binary":
            part["description"] = size
        elif "oneOf" in part:
            part["description"] = f"{part.get('description', '')} {size}".strip()


def _error_model_of(operation: dict[str, Any]) -> dict[str, Any] | None:
    for code, response in operation.get("responses", {}).items():
        if code[0] in "45":
            schema: dict[str, Any] | None = (
                response.get("content", {}).get("application/json", {}).get("schema")
            )
            return schema
    return None


def _describe_idempotency(operation: dict[str, Any], error: dict[str, Any] | None) -> None:
    _add_header_parameter(operation, IDEMPOTENCY_HEADER)
    responses = operation.setdefault("responses", {})
    content = {"application/json": {"schema": error}} if error else {}
    responses.setdefault(
        "409",
        {
            "description": "A request with this Idempotency-Key is still running; retry it.",
            "headers": {"Retry-After": _RETRY_AFTER},
            "content": content,
        },
    )
    responses.setdefault("422", {"description": _STATUS_TEXT[422], "content": content})
    responses["422"]["description"] = (
        f"{responses['422']['description']} Or: this Idempotency-Key came with another request."
    )
    for code, response in responses.items():
        if code.startswith("2"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = {
                "description": "`true` on the kept answer to an earlier request with the key.",
                "schema": {"type": "string", "enum": ["true"]},
            }


def _add_header_parameter(operation: dict[str, Any], header: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    names = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    if ("header", header["name"].lower()) not in names:
        parameters.append(header)
