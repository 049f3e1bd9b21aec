"""Keep the local emulator's data across restarts, under `.exif-service/data/`.

moto keeps everything in memory. Two files make it durable:
- `journal`: every acknowledged write, on disk before its answer (`local/journal.py`);
- `snapshot.json`: every DynamoDB item (as DynamoDB JSON) and the S3 manifest (key -> content
  type and blob), read through the ordinary AWS APIs. Object bodies live in `s3/`, one file per
  distinct content, named by its SHA-256, so a blob never changes once written.

A snapshot is written to a temporary file, flushed and renamed over the old one, so a crash
leaves either the old snapshot or the new one. It names the journal it folded: at start the
snapshot is loaded, then the journal is replayed unless the snapshot already holds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from exif_service.local.journal import sync_dir, sync_file
from exif_service.settings import Settings
from exif_service.store.aws import client
from exif_service.store.models import ALL_MODELS, table_key

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 2


def _write_durable(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        sync_file(f.fileno())
    tmp.replace(path)


class Snapshot:
    """Save and restore the emulator's tables and bucket to a folder."""

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = root or settings.data_dir / "data"
        self.file = self.root / "snapshot.json"
        self.blobs = self.root / "s3"
        # key -> (ETag, blob, content type) of objects already saved as blobs
        self._objects: dict[str, tuple[str, str, str]] = {}

    def save(self, *, folded: str | None = None) -> None:
        """Write the whole store as one snapshot; `folded` names the journal it includes."""
        dynamodb = client("dynamodb")
        tables: dict[str, list[dict[str, Any]]] = {}
        for model in ALL_MODELS:
            name = self.settings.table_name(table_key(model))
            items: list[dict[str, Any]] = []
            for page in dynamodb.get_paginator("scan").paginate(TableName=name):
                items.extend(page["Items"])
            tables[table_key(model)] = items
        objects = self._save_objects()
        snapshot = {
            "version": SNAPSHOT_VERSION,
            "journal": folded,
            "tables": tables,
            "objects": objects,
        }
        _write_durable(self.file, json.dumps(snapshot).encode())
        sync_dir(self.root)
        self._collect_garbage({entry["blob"] for entry in objects.values()})

    def prefetch(self) -> None:
        """Copy the objects changed since the last save into blobs now, while writes still
        flow: the `save` that follows (with writes held) then reads only what changed in
        between, not every camera-size file put since the last fold. Blobs never change once
        written, and one no object uses is removed by that save."""
        self._save_objects()

    def _save_objects(self) -> dict[str, dict[str, str]]:
        s3 = client("s3")
        manifest: dict[str, dict[str, str]] = {}
        wrote = False
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                known = self._objects.get(key)
                if known is None or known[0] != etag or not (self.blobs / known[1]).exists():
                    try:
                        response = s3.get_object(Bucket=self.settings.bucket, Key=key)
                    except s3.exceptions.NoSuchKey:
                        continue  # deleted since the listing (a prefetch runs beside writes)
                    data = response["Body"].read()
                    blob = hashlib.sha256(data).hexdigest()
                    if not (self.blobs / blob).exists():
                        _write_durable(self.blobs / blob, data)
                        wrote = True
                    content_type = response.get("ContentType") or "application/octet-stream"
                    # the ETag of the bytes read: the object may have changed since the listing
                    known = (response.get("ETag") or etag, blob, content_type)
                    self._objects[key] = known
                manifest[key] = {"blob": known[1], "contentType": known[2]}
        for stale in set(self._objects) - set(manifest):
            del self._objects[stale]
        if wrote:
            sync_dir(self.blobs)
        return manifest

    def _collect_garbage(self, wanted: set[str]) -> None:
        """Remove blobs no object uses, and the files of the layout before snapshot.json."""
        if self.blobs.exists():
            for path in self.blobs.iterdir():
                if path.name not in wanted:
                    path.unlink(missing_ok=True)
        legacy = self.root / "dynamodb"
        if legacy.exists():
            for path in legacy.iterdir():
                path.unlink(missing_ok=True)
            legacy.rmdir()
        (self.root / "s3-manifest.json").unlink(missing_ok=True)

    def restore(self) -> str | None:
        """Load the snapshot into the (empty) emulator; the id of the journal it folded."""
        if self.file.exists():
            snapshot = json.loads(self.file.read_text())
            tables: dict[str, list[dict[str, Any]]] = snapshot["tables"]
            objects = {
                key: (self.blobs / entry["blob"], entry["contentType"], entry["blob"])
                for key, entry in snapshot["objects"].items()
            }
            folded: str | None = snapshot.get("journal")
        else:
            tables, objects, folded = self._legacy()
        dynamodb = client("dynamodb")
        for model in ALL_MODELS:
            items = tables.get(table_key(model), [])
            name = self.settings.table_name(table_key(model))
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                dynamodb.batch_write_item(RequestItems={name: batch})
        s3 = client("s3")
        for key, (path, content_type, blob) in objects.items():
            if not path.exists():
                log.warning("local data: the file of %s is missing", key)
                continue
            data = path.read_bytes()
            put = s3.put_object(
                Bucket=self.settings.bucket, Key=key, Body=data, ContentType=content_type
            )
            self._objects[key] = (
                put["ETag"],
                blob or hashlib.sha256(data).hexdigest(),
                content_type,
            )
        log.info("restored local data from %s", self.root)
        return folded

    def _legacy(
        self,
    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[Path, str, str]], None]:
        """The layout before snapshot.json: one file per table, S3 files named by key hash."""
        tables: dict[str, list[dict[str, Any]]] = {}
        for model in ALL_MODELS:
            path = self.root / "dynamodb" / f"{table_key(model)}.json"
            if path.exists():
                tables[table_key(model)] = json.loads(path.read_text())
        objects: dict[str, tuple[Path, str, str]] = {}
        manifest = self.root / "s3-manifest.json"
        if manifest.exists():
            for key, entry in json.loads(manifest.read_text()).items():
                content_type = entry.get("contentType") or "application/octet-stream"
                objects[key] = (self.blobs / entry["file"], content_type, "")
        return tables, objects, None
