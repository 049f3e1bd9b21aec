"""Files in S3: `results/` (24 h downloads), `uploads/` (large files), `library/` (kept)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from exif_service.domain.errors import NotFound, StoreUnavailable
from exif_service.settings import get_settings
from exif_service.store.aws import client
from exif_service.store.faults import translate_faults, translated

log = logging.getLogger(__name__)

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


class Blobs:
    """The service's bucket; a transient S3 fault raises `StoreUnavailable`."""

    def __init__(self, bucket: str | None = None, s3: Any = None) -> None:
        self.bucket = bucket or get_settings().bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        return self._s3 or client("s3")

    @translate_faults
    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self.s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})

    @translate_faults
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    @translate_faults
    def get_bytes(self, key: str) -> bytes:
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise NotFound("The file is no longer stored.") from exc
            raise
        return body

    @translate_faults
    def download_to(self, key: str, path: Path) -> None:
        try:
            self.s3.download_file(self.bucket, key, str(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise NotFound("The file is no longer stored.") from exc
            raise

    def stream(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        try:
            with translated():
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise NotFound("The file is no longer stored.") from exc
            raise
        chunks = body.iter_chunks(chunk_size)
        while True:
            with translated():
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def presigned_get(self, key: str, disposition: str, content_type: str, ttl: int) -> str:
        """A short-lived GET URL whose response carries `disposition` and `content_type`."""
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            },
            ExpiresIn=ttl,
        )
        return url

    def presigned_post(
        self, key: str, max_bytes: int, ttl: int, fields: dict[str, str] | None = None
    ) -> dict[str, Any]:
        conditions: list[Any] = [["content-length-range", 1, max_bytes]]
        for name, value in (fields or {}).items():
            conditions.append({name: value})
        post: dict[str, Any] = self.s3.generate_presigned_post(
            self.bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=ttl
        )
        return post

    @translate_faults
    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def delete_quietly(self, key: str) -> None:
        """Remove an object written for work that then failed; a fault is logged, not raised
        (the bucket's lifecycle rules are the backstop)."""
        try:
            self.delete(key)
        except StoreUnavailable:
            log.warning("could not remove %s, left by failed work", key)

    def keys(self, prefix: str) -> Iterator[str]:
        """Every object key under `prefix`."""
        pages = iter(
            self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        )
        while True:
            with translated():
                page = next(pages, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                yield str(item["Key"])

    @translate_faults
    def ensure_bucket(self) -> None:
        """Create the bucket if missing (local emulator and tests only)."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.s3.create_bucket(Bucket=self.bucket)
