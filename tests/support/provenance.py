"""Files with Content Credentials, signed by the tests with the C2PA library and a throwaway CA.

Every run makes a fresh root certificate and a signing certificate under it (`cryptography`),
so nothing secret or expiring is committed; the root is handed back for the one test that needs
a signer the server trusts.
"""

from __future__ import annotations

import datetime
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.media import draw, exiftool

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI = IPTC + "trainedAlgorithmicMedia"
CAPTURE = IPTC + "digitalCapture"
SIGNER = "Provenance Test Signer"
GENERATOR = "Provenance Test Generator"


@dataclass(frozen=True)
class Credentials:
    """A signing certificate chain and key, and the root that vouches for them (PEM)."""

    chain: str
    key: str
    root: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "exif-service tests"),
        ]
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@cache
def credentials() -> Credentials:
    """A root CA and an ES256 signing certificate under it, valid for a month from yesterday."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Provenance Test Root"))
        .issuer_name(_name("Provenance Test Root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return Credentials(chain=_pem(leaf) + _pem(root), key=private, root=_pem(root))


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def sign(src: Path, dst: Path, *, source_type: str, title: str, mime: str = "image/jpeg") -> Path:
    """Sign `src` into `dst` with one `c2pa.created` action of the given Digital Source Type."""
    creds = credentials()
    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, creds.chain.encode(), creds.key.encode(), None
    )
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": GENERATOR, "version": "1.0"}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": source_type,
                            "softwareAgent": {"name": "Test Model 2"},
                            "when": "2026-01-02T03:04:05Z",
                        }
                    ]
                },
            }
        ],
    }
    out = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
        with src.open("rb") as source:
            builder.sign(signer, mime, source, out)
    dst.write_bytes(out.getvalue())
    return dst


def plain_jpeg(path: Path, seed: int = 3) -> Path:
    draw(seed=seed).save(path, "JPEG", quality=88)
    return path


def ai_image(folder: Path) -> Path:
    """A JPEG signed as made by a generative model."""
    return sign(plain_jpeg(folder / "plain-ai.jpg"), folder / "ai.jpg", source_type=AI, title="ai")


def captured_image(folder: Path) -> Path:
    """A JPEG with a GPS position in Arezzo, signed as a camera capture."""
    src = plain_jpeg(folder / "plain-capture.jpg", seed=5)
    exiftool(
        "-overwrite_original",
        "-GPSLatitude=43.467",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=11.885",
        "-GPSLongitudeRef=E",
        "-DateTimeOriginal=2024:05:01 10:00:00",
        str(src),
    )
    return sign(src, folder / "capture.jpg", source_type=CAPTURE, title="capture")


def edited_after_signing(folder: Path) -> Path:
    """A signed AI image whose metadata was changed afterwards (the manifest left in place)."""
    signed = ai_image(folder)
    out = folder / "edited.jpg"
    exiftool("-EXIF:Artist=Somebody Else", "-o", str(out), str(signed))
    return out


def iptc_only_ai(folder: Path) -> Path:
    """A JPEG labelled AI-made only by IPTC's DigitalSourceType, with no manifest."""
    src = plain_jpeg(folder / "iptc-ai.jpg", seed=7)
    exiftool("-overwrite_original", f"-XMP-iptcExt:DigitalSourceType={AI}", str(src))
    return src


def manifest_of(path: Path, *, trust_root: str | None = None) -> dict[str, Any] | None:
    """The manifest store as the C2PA library reads it (None when there is none)."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_root:
        settings["trust"] = {"trust_anchors": trust_root}
    try:
        with (
            path.open("rb") as stream,
            c2pa.Reader("image/jpeg", stream, context=c2pa.Context.from_dict(settings)) as reader,
        ):
            data: dict[str, Any] = json.loads(reader.json())
            return data
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__:
            return None
        raise
