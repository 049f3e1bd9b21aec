"""Keep the local emulator's data across restarts, under `.exif-service/data/`.

moto keeps everything in memory, so the local server snapshots what it holds through the
ordinary AWS APIs: every DynamoDB item (as DynamoDB JSON, one file per table) and every S3
object (one file per object, written only when its ETag changed). A snapshot is taken every
few seconds while the server runs and once more when it stops; at start the snapshot is loaded
back into the fresh emulator before the first request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from exif_service.settings import Settings
from exif_service.store.aws import client
from exif_service.store.models import ALL_MODELS, table_key

log = logging.getLogger(__name__)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class Snapshot:
    """Save and restore the emulator's tables and bucket to a folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "data"
        self._objects: dict[str, tuple[str, str]] = {}  # key -> (etag, content type)

    def save(self) -> None:
        dynamodb = client("dynamodb")
        for model in ALL_MODELS:
            name = self.settings.table_name(table_key(model))
            items: list[dict[str, Any]] = []
            for page in dynamodb.get_paginator("scan").paginate(TableName=name):
                items.extend(page["Items"])
            _write_atomic(
                self.root / "dynamodb" / f"{table_key(model)}.json", json.dumps(items).encode()
            )
        self._save_bucket()

    def _save_bucket(self) -> None:
        s3 = client("s3")
        objects_dir = self.root / "s3"
        manifest: dict[str, dict[str, str]] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                file_name = _object_file(key)
                known = self._objects.get(key)
                if known is None or known[0] != etag or not (objects_dir / file_name).exists():
                    response = s3.get_object(Bucket=self.settings.bucket, Key=key)
                    _write_atomic(objects_dir / file_name, response["Body"].read())
                    content_type = response.get("ContentType") or "application/octet-stream"
                    known = (etag, content_type)
                    self._objects[key] = known
                manifest[key] = {"file": file_name, "contentType": known[1]}
        for stale in set(self._objects) - set(manifest):
            del self._objects[stale]
        wanted = {entry["file"] for entry in manifest.values()}
        if objects_dir.exists():
            for path in objects_dir.iterdir():
                if path.name not in wanted:
                    path.unlink(missing_ok=True)
        _write_atomic(self.root / "s3-manifest.json", json.dumps(manifest).encode())

    def restore(self) -> None:
        dynamodb = client("dynamodb")
        for model in ALL_MODELS:
            path = self.root / "dynamodb" / f"{table_key(model)}.json"
            if not path.exists():
                continue
            name = self.settings.table_name(table_key(model))
            items = json.loads(path.read_text())
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                dynamodb.batch_write_item(RequestItems={name: batch})
        manifest_path = self.root / "s3-manifest.json"
        if manifest_path.exists():
            s3 = client("s3")
            for key, entry in json.loads(manifest_path.read_text()).items():
                blob = self.root / "s3" / entry["file"]
                if blob.exists():
                    content_type = entry.get("contentType") or "application/octet-stream"
                    put = s3.put_object(
                        Bucket=self.settings.bucket,
                        Key=key,
                        Body=blob.read_bytes(),
                        ContentType=content_type,
                    )
                    self._objects[key] = (put["ETag"], content_type)
        log.info("restored local data from %s", self.root)


def _object_file(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
