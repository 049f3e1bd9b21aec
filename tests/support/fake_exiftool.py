"""A stand-in `-stay_open` ExifTool for the pool's own tests: where ExifTool must hang, die,
hold its answers or claim an old version on demand. Metadata tests use the real ExifTool.

It speaks just enough of the protocol: arguments one per line, `-echo4 TEXT` goes to stderr and
`-executeN` ends a command with `{readyN}` on stdout; `-stay_open False` leaves. What it does
comes from the environment and the arguments:
- `-ver` prints FAKE_VERSION (13.59 by default);
- an argument HANG creates the file FAKE_HANG_FLAG names and sleeps; DIE, or FAKE_ALWAYS_DIE,
  exits; FAKE_DIE_ON_READS exits on any command but `-ver`;
- with FAKE_GATE, no command is answered before the file it names exists;
- with FAKE_READS, every file path given is appended to the file it names, and a read is
  answered with ExifTool's JSON for one tag (the version).
"""

from __future__ import annotations

from pathlib import Path

SCRIPT = r"""
import os, sys, time
version = os.environ.get("FAKE_VERSION", "13.59")
args = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.startswith("-execute"):
        args.append(line)
        if args[-2:] == ["-stay_open", "False"]:
            sys.exit(0)
        continue
    if "HANG" in args:
        open(os.environ["FAKE_HANG_FLAG"], "w").close()
        time.sleep(3600)
    if "DIE" in args or os.environ.get("FAKE_ALWAYS_DIE"):
        sys.exit(3)
    if os.environ.get("FAKE_DIE_ON_READS") and "-ver" not in args:
        sys.exit(9)
    while os.environ.get("FAKE_GATE") and not os.path.exists(os.environ["FAKE_GATE"]):
        time.sleep(0.01)
    files = [a for a in args if a.startswith("/")]
    if os.environ.get("FAKE_READS"):
        with open(os.environ["FAKE_READS"], "a") as reads:
            reads.writelines(f + "\n" for f in files)
    if "-ver" in args:
        sys.stdout.write(version + "\n")
    elif files and os.environ.get("FAKE_READS"):
        sys.stdout.write('[{"ExifTool:ExifToolVersion": %s}]\n' % version)
    if "-echo4" in args:
        sys.stderr.write(args[args.index("-echo4") + 1] + "\n")
        sys.stderr.flush()
    sys.stdout.write("{ready%s}\n" % line[len("-execute"):])
    sys.stdout.flush()
    args = []
"""


def write_fake_exiftool(folder: Path, name: str = "fake-exiftool.py") -> Path:
    """The fake's script in `folder`, to run with this Python (`sys.executable`)."""
    script = folder / name
    script.write_text(SCRIPT)
    return script
