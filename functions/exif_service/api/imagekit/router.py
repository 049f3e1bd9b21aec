"""The ImageKit-compatible surface: media library, metadata object, pHash search.

A library file's `url` is `<base>/v1/files/{fileId}/content?token=...`: the random token makes
it shareable (an <img> tag, a colleague) without the API key, and the owner can also fetch
`/v1/files/{fileId}/content` with the key. Deleting the file ends both.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from exif_service.api.delivery import kept_file, public_base
from exif_service.api.deps import BlobsDep, PoolDep, SettingsDep
from exif_service.api.imagekit.deps import KeyOwner, OptionalKeyOwner, UploadFormDep
from exif_service.api.imagekit.errors import ImageKitRoute
from exif_service.api.imagekit.schemas import (
    IMAGEKIT_ERROR_EXAMPLES,
    ImageKitError,
    LibraryFile,
    MetadataObject,
    PhashDistance,
    SimilarFile,
    UploadedFile,
    present_file,
    present_file_with_distance,
    present_metadata,
    present_upload,
)
from exif_service.api.openapi import (
    IMAGEKIT_UPLOAD_BODY,
    error_responses,
    file_response,
    ok_response,
)
from exif_service.domain.errors import BadRequest
from exif_service.domain.library import LibraryEntry
from exif_service.services import library
from exif_service.services.quota import charge_account
from exif_service.settings import Settings

imagekit_router = APIRouter(route_class=ImageKitRoute, tags=["imagekit"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(ImageKitError, IMAGEKIT_ERROR_EXAMPLES, codes)


def file_url(request: Request, settings: Settings, entry: LibraryEntry) -> str:
    """The shareable address of a library file on this server."""
    base = public_base(request, settings)
    return f"{base}/v1/files/{entry.file_id}/content?token={quote(entry.url_token, safe='')}"


@imagekit_router.post(
    "/api/v1/files/upload",
    openapi_extra=IMAGEKIT_UPLOAD_BODY,
    responses={
        **ok_response(UploadedFile, "The stored file"),
        **_errors(400, 401, 403, 413, 415, 429, 500, 503),
    },
)
def upload(
    request: Request,
    owner: KeyOwner,
    form: UploadFormDep,
    blobs: BlobsDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Keep a file (binary, base64 or URL) in the caller's media library."""
    entry, reading = library.upload_source(pool, form.source, owner, form.options, blobs)
    url = file_url(request, settings, entry)
    return JSONResponse(present_upload(entry, url, reading, form.response_fields))


@imagekit_router.get(
    "/v1/files",
    responses={
        **ok_response(list[LibraryFile], "The caller's files"),
        **_errors(400, 401, 403, 500, 503),
    },
)
def list_files(
    request: Request,
    owner: KeyOwner,
    settings: SettingsDep,
    path: str | None = None,
    file_type: Annotated[str, Query(alias="fileType")] = "all",
    skip: int = 0,
    limit: int = library.MAX_LIST,
) -> JSONResponse:
    """The caller's files, oldest first, optionally in one folder."""
    entries = library.list_files(
        owner.user_id, path=path, file_type=file_type, skip=skip, limit=limit
    )
    return JSONResponse([present_file(e, file_url(request, settings, e)) for e in entries])


@imagekit_router.get(
    "/v1/files/{file_id}/details",
    responses={**ok_response(LibraryFile, "The file"), **_errors(401, 403, 404, 500, 503)},
)
def file_details(
    file_id: str, request: Request, owner: KeyOwner, settings: SettingsDep
) -> JSONResponse:
    entry = library.file_details(owner.user_id, file_id)
    return JSONResponse(present_file(entry, file_url(request, settings, entry)))


@imagekit_router.delete(
    "/v1/files/{file_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted"}, **_errors(401, 403, 404, 500, 503)},
)
def delete_file(file_id: str, owner: KeyOwner, blobs: BlobsDep) -> Response:
    library.delete_file(owner.user_id, file_id, blobs)
    return Response(status_code=204)


@imagekit_router.get(
    "/v1/files/{file_id}/metadata",
    responses={
        **ok_response(MetadataObject, "The file's metadata object"),
        **_errors(401, 403, 404, 415, 429, 500, 503),
    },
)
def file_metadata(file_id: str, owner: KeyOwner, blobs: BlobsDep, pool: PoolDep) -> JSONResponse:
    """The metadata object of one of the caller's files."""
    library.file_details(owner.user_id, file_id)  # a missing file costs no quota
    with charge_account(owner):
        reading = library.library_file_metadata(pool, owner.user_id, file_id, blobs)
    return JSONResponse(present_metadata(reading))


@imagekit_router.get(
    "/v1/metadata",
    responses={
        **ok_response(MetadataObject, "The metadata object of the file at `url`"),
        **_errors(400, 401, 403, 404, 413, 415, 429, 500, 503),
    },
)
def url_metadata(owner: KeyOwner, blobs: BlobsDep, pool: PoolDep, url: str = "") -> JSONResponse:
    """The metadata object of a URL: a library file of the caller's, or any public URL."""
    if not url.strip():
        raise BadRequest("Missing url parameter.")
    with charge_account(owner):
        reading = library.url_metadata(pool, owner.user_id, url.strip(), blobs)
    return JSONResponse(present_metadata(reading))


@imagekit_router.get(
    "/v1/files/{file_id}/content",
    response_class=Response,
    responses={
        **file_response("The stored file", redirect=302),
        **_errors(401, 403, 404, 500, 503),
    },
)
def file_content(
    file_id: str,
    owner: OptionalKeyOwner,
    blobs: BlobsDep,
    settings: SettingsDep,
    token: str | None = None,
) -> Response:
    """The stored file itself, for its owner or whoever holds its `url`."""
    entry = library.shared_file(file_id, owner.user_id if owner else None, token)
    headers = {
        "Cache-Control": "private, max-age=300",
        # the file is the caller's, served from the API's own origin: never let it run script
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    return kept_file(
        entry.s3_key,
        entry.name,
        entry.mime,
        blobs,
        settings,
        attachment=not _safe_inline(entry.mime),
        headers=headers,
    )


def _safe_inline(mime: str) -> bool:
    """Raster pictures, video and audio are shown in place; anything else is a download."""
    return mime.startswith(("image/", "video/", "audio/")) and "svg" not in mime


@imagekit_router.get(
    "/v1/phash-distance",
    responses={
        **ok_response(PhashDistance, "The distance (0: the same picture)"),
        **_errors(400, 401, 403, 404, 500, 503),
    },
)
def phash_distance(owner: KeyOwner, a: str = "", b: str = "") -> JSONResponse:
    """Hamming distance between two pHashes, each given as 16 hex digits or a file id."""
    if not a or not b:
        raise BadRequest("Give two pHashes or file ids as a and b.")
    hash_a, hash_b, distance = library.distance_between(owner.user_id, a, b)
    return JSONResponse({"a": hash_a, "b": hash_b, "distance": distance})


@imagekit_router.get(
    "/v1/files/{file_id}/similar",
    responses={
        **ok_response(list[SimilarFile], "Nearest first"),
        **_errors(400, 401, 403, 404, 500, 503),
    },
)
def similar_files(
    file_id: str,
    request: Request,
    owner: KeyOwner,
    settings: SettingsDep,
    max_distance: Annotated[int, Query(alias="maxDistance")] = 10,
) -> JSONResponse:
    """The caller's pictures that look like this one (pHash within maxDistance), nearest first."""
    near = library.similar_files(owner.user_id, file_id, max_distance)
    body = [present_file_with_distance(e, file_url(request, settings, e), d) for e, d in near]
    return JSONResponse(body)
