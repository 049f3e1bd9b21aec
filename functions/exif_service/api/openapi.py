"""Request bodies for the OpenAPI document, where a route parses its own multipart or JSON.

Routes that read their form through a dependency (streamed, size-capped) declare no body
parameters to FastAPI, so the document would show none; these describe the body instead.
"""

from __future__ import annotations

from typing import Any

PRESET = {
    "type": "string",
    "enum": ["safe", "all", "location", "sensitive"],
    "default": "safe",
    "description": "What the strip removes (`none` is accepted as `all`).",
}
KEEP = {
    "type": "string",
    "description": "Tags kept besides the preset: `Tag,Group:Tag,Group:all`.",
    "example": "XMP-dc:Creator,IPTC:all",
}
_FILE: dict[str, Any] = {"type": "string", "format": "binary"}


def file_body(*, many: bool = False, url: bool = True, **fields: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a multipart body with one file (or many) and text `fields`; with
    `url`, also a JSON body naming a public URL instead of the file."""
    name = "files" if many else "file"
    part = {"type": "array", "items": _FILE} if many else _FILE
    properties: dict[str, Any] = {name: part, **fields}
    multipart: dict[str, Any] = {"type": "object", "properties": properties}
    if not url:
        multipart["required"] = [name]
    content: dict[str, Any] = {"multipart/form-data": {"schema": multipart}}
    if url:
        properties["url"] = {"type": "string", "format": "uri"}
        json_schema = {
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri"}, **fields},
            "required": ["url"],
        }
        content["application/json"] = {"schema": json_schema}
    return {"requestBody": {"required": True, "content": content}}


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
