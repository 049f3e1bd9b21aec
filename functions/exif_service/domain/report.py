"""The canonical metadata report: what ExifTool says about a file, minus what the server knows.

Built from `exiftool -j -G` output: tags grouped by family-0 group, print-converted values.
Every tag ExifTool reports is kept, except the ones that describe the server's copy of the
file (its path, temp name, permissions and file-system dates). Binary blobs are summarised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from exif_service.domain.provenance import ContentCredentials, Provenance, provenance

# File-group tags about the server's temp copy, never about the caller's file.
SERVER_FILE_TAGS = frozenset(
    {
        "Directory",
        "FileModifyDate",
        "FileAccessDate",
        "FileInodeChangeDate",
        "FileCreateDate",
        "FilePermissions",
        "FileAttributes",
        "FileUserID",
        "FileGroupID",
        "FileDeviceID",
        "FileInodeNumber",
        "FileHardLinks",
        "FileBlockSize",
        "FileBlockCount",
    }
)
_BINARY = re.compile(r"^\(Binary data (\d+) bytes(?:, use -b option to extract)?\)$")


@dataclass(frozen=True)
class MetadataReport:
    """Tags by family-0 group (`File`, `EXIF`, `XMP`, ...) plus the caller's file facts."""

    file_name: str
    size: int
    mime_type: str
    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The XMP group as `exiftool -struct` reads it (Flash, LocationCreated, History... as
    # objects and lists), kept only when it differs from the flat `groups["XMP"]`.
    structured_xmp: Mapping[str, Any] | None = None
    # The C2PA manifest as the reference library validated it, read only when ExifTool saw one.
    content_credentials: ContentCredentials | None = None

    @property
    def file_type(self) -> str:
        return str(self.groups.get("File", {}).get("FileType", ""))

    def flat(self) -> dict[str, Any]:
        """All tags by bare name; on a clash the first group ExifTool listed wins."""
        out: dict[str, Any] = {}
        for tags in self.groups.values():
            for name, value in tags.items():
                out.setdefault(name, value)
        return out

    @property
    def provenance(self) -> Provenance:
        """Its Content Credentials and what they, and the IPTC label, say about how it was made."""
        return provenance(self.groups, self.content_credentials)

    def get(self, group: str, tag: str) -> Any:
        return self.groups.get(group, {}).get(tag)

    def with_structured_xmp(self, xmp: Mapping[str, Any] | None) -> MetadataReport:
        """This report keeping `xmp` (the `-struct` XMP group) if it differs from the flat one."""
        flat = self.groups.get("XMP")
        if not xmp or flat is None or list(xmp.items()) == list(flat.items()):
            return replace(self, structured_xmp=None)
        return replace(self, structured_xmp=dict(xmp))

    def structured(self) -> MetadataReport:
        """The report with XMP structures as objects, as `exiftool -j -G -struct` shows it."""
        if self.structured_xmp is None:
            return self
        xmp = self.structured_xmp
        groups = {g: (xmp if g == "XMP" else tags) for g, tags in self.groups.items()}
        return replace(self, groups=groups, structured_xmp=None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "fileName": self.file_name,
            "size": self.size,
            "mimeType": self.mime_type,
            "groups": {g: dict(t) for g, t in self.groups.items()},
        }
        # Stored beside the flat groups, in the same record, so a lookup can answer
        # `?struct=true` without the file; absent when it reads the same as the flat group.
        if self.structured_xmp is not None:
            data["structuredXmp"] = dict(self.structured_xmp)
        if self.content_credentials is not None:
            data["contentCredentials"] = self.content_credentials.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetadataReport:
        structured = data.get("structuredXmp")
        credentials = data.get("contentCredentials")
        return cls(
            file_name=str(data["fileName"]),
            size=int(data["size"]),
            mime_type=str(data["mimeType"]),
            groups=dict(data["groups"]),
            structured_xmp=dict(structured) if isinstance(structured, Mapping) else None,
            content_credentials=(
                ContentCredentials.from_dict(credentials)
                if isinstance(credentials, Mapping)
                else None
            ),
        )


def build_report(
    raw: Mapping[str, Any], *, file_name: str, size: int, server_path: str
) -> MetadataReport:
    """Turn one `exiftool -j -G` record into the canonical report for the caller."""
    groups: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key == "SourceFile" or ":" not in key:
            continue
        group, tag = key.split(":", 1)
        if group == "File" and tag in SERVER_FILE_TAGS:
            continue
        if group == "File" and tag == "FileName":
            value = file_name
        groups.setdefault(group, {})[tag] = _clean_value(value, server_path, file_name)
    mime = str(groups.get("File", {}).get("MIMEType", "application/octet-stream"))
    return MetadataReport(file_name=file_name, size=size, mime_type=mime, groups=groups)


def _clean_value(value: Any, server_path: str, file_name: str) -> Any:
    if isinstance(value, str):
        match = _BINARY.match(value)
        if match:
            return f"(Binary data {match.group(1)} bytes)"
        if server_path and server_path in value:
            return value.replace(server_path, file_name)
        return value
    if isinstance(value, list):
        return [_clean_value(v, server_path, file_name) for v in value]
    if isinstance(value, dict):
        return {k: _clean_value(v, server_path, file_name) for k, v in value.items()}
    return value
