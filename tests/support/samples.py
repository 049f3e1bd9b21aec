"""Sample files for trying provenance and place by hand: `make samples` writes them.

    ai.jpg        signed with Content Credentials as made by a generative model
    capture.jpg   signed as a camera capture, with a position in Arezzo and a zone-less time
    edited.jpg    ai.jpg with its metadata changed after signing (the manifest no longer holds)
    iptc-ai.jpg   labelled AI-made by IPTC's DigitalSourceType alone, no manifest
    roots.pem     the throwaway root that signed them: point EXIF_SERVICE_C2PA_TRUST_ANCHORS
                  at it and the intact ones read `valid` instead of `untrusted`

The certificates are made fresh on each run and are good for a month.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.provenance import (
    captured_image,
    credentials,
    edited_after_signing,
    iptc_only_ai,
)


def write_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    edited = edited_after_signing(folder)  # signs ai.jpg first
    made = [folder / "ai.jpg", captured_image(folder), edited, iptc_only_ai(folder)]
    roots = folder / "roots.pem"
    roots.write_text(credentials().root, encoding="ascii")
    for scratch in folder.glob("plain-*.jpg"):
        scratch.unlink()
    return [*made, roots]


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else ".exif-service/samples")
    for path in write_samples(folder):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
