"""`make bench`: extraction and stripping throughput, side by side, on one machine in one run.

    python -m bench [--corpus DIR] [--files 200] [--skip-cold-start]

Extraction: `exiftool -j -G` launched per file; one raw `-stay_open` ExifTool fed file by file;
our engine (`read_metadata` on the pool); `POST /api/v1/extract` on a started `exif-service
serve` over loopback, at concurrency 1 and 2. Stripping: bare `-all=` on a raw `-stay_open`
ExifTool; our safe strip (ICC profile and orientation kept); `POST /api/v1/remove`.
Without --corpus a corpus of varied JPEG and PNG photos with metadata is generated.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, ImageCms, ImageDraw

from exif_service.domain.privacy import StripPlan
from exif_service.engine.exiftool import get_pool, shutdown_pool
from exif_service.engine.operations import (
    quick_facts,
    read_metadata,
    strip_metadata,
    verify_strip,
)
from exif_service.settings import get_settings

TARGET_ENGINE_OVERHEAD = 1.10  # our engine / raw stay_open, per file
TARGET_HTTP_SHARE = 0.80  # HTTP extract at concurrency 2 / raw stay_open, files per second
TARGET_STRIP_SHARE = 0.50  # safe strip / bare -all=, files per second
TARGET_VERIFY_COST = 0.25  # verification / the rest of a safe strip, median ms per file
PER_PROCESS_SAMPLE = 40  # `exiftool` launched per file is slow: a sample is enough
MEDIA = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".mp4", ".mov"}


@dataclass(frozen=True)
class Figure:
    name: str
    files: int
    seconds: float
    latencies_ms: list[float]

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0

    @property
    def ms_per_file(self) -> float:
        return 1000 * self.seconds / self.files if self.files else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# corpus -----------------------------------------------------------------------------------


def make_corpus(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """Varied photos: sizes, JPEG/PNG, EXIF incl. GPS, XMP, ICC profile, comments."""
    rng = random.Random(seed)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    sizes = [(640, 480), (1024, 768), (1600, 1200), (2048, 1536)]
    files = []
    for i in range(count):
        w, h = rng.choice(sizes)
        img = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), 90))
        pen = ImageDraw.Draw(img)
        for _ in range(12):
            x, y = rng.randrange(w), rng.randrange(h)
            pen.ellipse((x, y, x + w // 5, y + h // 5), fill=(rng.randrange(256), 140, 60))
        exif = Image.Exif()
        exif[0x010F] = rng.choice(["Canon", "NIKON CORPORATION", "Apple", "SONY"])  # Make
        exif[0x0110] = f"Model {rng.randrange(100)}"  # Model
        exif[0x0112] = rng.choice([1, 1, 3, 6, 8])  # Orientation
        exif[0x013B] = f"Photographer {i}"  # Artist
        exif[0x0132] = "2024:03:15 10:30:00"  # DateTime
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = "N", (48.0, 51.0, rng.randrange(60))
        gps[3], gps[4] = "E", (2.0, 21.0, rng.randrange(60))
        xmp = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Photo {i}</rdf:li></rdf:Alt>"
            "</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
        ).encode()
        if i % 4 == 3:
            path = folder / f"photo-{i:04d}.png"
            img.save(path, "PNG", exif=exif, icc_profile=srgb)
        else:
            path = folder / f"photo-{i:04d}.jpg"
            img.save(
                path,
                "JPEG",
                quality=88,
                exif=exif,
                icc_profile=srgb,
                xmp=xmp,
                comment=b"bench corpus",
            )
        files.append(path)
    return files


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MEDIA and p.is_file())


# raw ExifTool -----------------------------------------------------------------------------


def _exiftool_command() -> list[str]:
    settings = get_settings()
    return [settings.perl_path, str(settings.exiftool_path)]


class RawStayOpen:
    """The plainest `-stay_open` client: write the arguments, read stdout up to `{ready}`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed command
            [*_exiftool_command(), "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def run(self, args: Sequence[str]) -> bytes:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(("\n".join([*args, "-execute", ""])).encode())
        self.proc.stdin.flush()
        out = bytearray()
        while True:
            line = self.proc.stdout.readline()
            if not line or line.startswith(b"{ready}"):
                return bytes(out)
            out += line

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.write(b"-stay_open\nFalse\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=10)


def timed(name: str, files: Sequence[Path], work: Callable[[Path], object]) -> Figure:
    latencies = []
    started = time.perf_counter()
    for path in files:
        t0 = time.perf_counter()
        work(path)
        latencies.append(1000 * (time.perf_counter() - t0))
    return Figure(name, len(files), time.perf_counter() - started, latencies)


# HTTP -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def local_server(data_dir: Path) -> Iterator[tuple[str, str]]:
    """A started `exif-service serve` and a Pro key for it."""
    cli = str(Path(sys.executable).with_name("exif-service"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EXIF_SERVICE_"))}
    env["EXIF_SERVICE_DATA_DIR"] = str(data_dir)
    env["EXIF_SERVICE_PRO_DAILY_LIMIT"] = str(10**9)  # a benchmark is not a customer
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data_dir.parent / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/api/v1/extract/ping", timeout=2)
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the local server did not start") from None
                time.sleep(0.2)
        created = subprocess.run(  # noqa: S603 - our own console script
            [cli, "admin", "create-user", "--email", "bench@example.com", "--plan", "pro"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        yield url, created.stdout.strip().splitlines()[-1]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def http_run(
    name: str, url: str, key: str, endpoint: str, files: Sequence[Path], concurrency: int
) -> Figure:
    payloads = [(p.name, p.read_bytes()) for p in files]
    clients = [httpx.Client(base_url=url, timeout=120) for _ in range(concurrency)]

    def post(index: int) -> float:
        file_name, data = payloads[index]
        client = clients[index % concurrency]
        t0 = time.perf_counter()
        r = client.post(endpoint, headers={"X-API-Key": key}, files={"file": (file_name, data)})
        elapsed = 1000 * (time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"{endpoint} answered {r.status_code}: {r.text[:200]}")
        return elapsed

    post(0)  # warm the connection(s) and the server's first-request paths
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as executor:
        latencies = list(executor.map(post, range(len(payloads))))
    seconds = time.perf_counter() - started
    for client in clients:
        client.close()
    return Figure(name, len(payloads), seconds, latencies)


# report -----------------------------------------------------------------------------------


def show(title: str, figures: Sequence[Figure]) -> None:
    print(f"\n{title}")
    print(f"  {'':<40} {'files':>6} {'files/s':>9} {'ms/file':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for f in figures:
        print(
            f"  {f.name:<40} {f.files:>6} {f.files_per_s:>9.1f} {f.ms_per_file:>9.2f} "
            f"{f.percentile(50):>8.2f} {f.percentile(95):>8.2f}"
        )


def verdict(label: str, value: float, target: float, higher_is_better: bool) -> bool:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    print(f"  {label:<58} {value:6.2f}  (target {sign} {target:.2f})  {'ok' if ok else 'MISSED'}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a folder of media files (default: generate)")
    parser.add_argument("--files", type=int, default=200, help="size of a generated corpus")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (best kept)")
    parser.add_argument("--skip-cold-start", action="store_true")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="exs-bench-"))
    try:
        if args.corpus:
            files = corpus_files(args.corpus)
        else:
            (work / "corpus").mkdir()
            files = make_corpus(work / "corpus", args.files)
        if not files:
            print("no media files found", file=sys.stderr)
            return 1
        total = sum(p.stat().st_size for p in files)
        print(
            f"corpus: {len(files)} files, {total / len(files) / 1024:.0f} KB on average; "
            f"{os.cpu_count()} CPUs; ExifTool {get_pool().version}, pool of {get_pool().size}"
        )
        ok = run(files, work, args.rounds)
    finally:
        shutdown_pool()
        shutil.rmtree(work, ignore_errors=True)
    if not args.skip_cold_start:
        try:
            from bench import cold_start
        except ImportError:
            pass
        else:
            print("\nLambda cold start (bench/cold_start.py)")
            cold_start.main(["--repeat", "1"])
    return 0 if ok else 1


def interleaved(
    rounds: int, files: Sequence[Path], contenders: dict[str, Callable[[Path], object]]
) -> dict[str, Figure]:
    """Run the contenders in turn, `rounds` times, and keep each one's fastest round.

    On a shared machine the load changes from second to second; alternating the contenders
    and keeping their best round compares them under the same conditions.
    """
    best: dict[str, Figure] = {}
    for _ in range(rounds):
        for name, work in contenders.items():
            figure = timed(name, files, work)
            if name not in best or figure.seconds < best[name].seconds:
                best[name] = figure
    return best


def run(files: list[Path], work: Path, rounds: int) -> bool:
    cmd = _exiftool_command()
    sample = files[:PER_PROCESS_SAMPLE]
    per_process = timed(
        f"exiftool -j -G, a process per file ({len(sample)})",
        sample,
        lambda p: subprocess.run([*cmd, "-j", "-G", str(p)], capture_output=True, check=True),
    )
    raw = RawStayOpen()
    raw.run(["-ver"])
    pool = get_pool()
    pool.warm()
    extraction = interleaved(
        rounds,
        files,
        {
            "raw -stay_open, one process": lambda p: raw.run(["-j", "-G", str(p)]),
            "our engine (read_metadata on the pool)": lambda p: read_metadata(
                pool, p, file_name=p.name
            ),
        },
    )
    raw_extract, engine = extraction.values()
    out = work / "out"
    out.mkdir()

    def bare(p: Path) -> None:
        dst = out / f"bare-{p.name}"
        raw.run(["-all=", "-o", str(dst), str(p)])
        dst.unlink()

    def safe(p: Path) -> None:
        dst = out / f"safe-{p.name}"
        strip_metadata(pool, p, dst, StripPlan())
        dst.unlink()

    def verify(p: Path) -> None:
        # the re-read and checks alone, on the output a safe strip left beforehand
        verify_strip(pool, p, out / f"verify-{p.name}", facts[p], StripPlan())

    facts = {p: quick_facts(pool, p) for p in files}
    for p in files:
        strip_metadata(pool, p, out / f"verify-{p.name}", StripPlan())
    stripping = interleaved(
        rounds,
        files,
        {
            "bare -all= (raw -stay_open)": bare,
            "our safe strip (ICC + orientation kept), verified": safe,
            "  of which verification (re-read, checks, pixels)": verify,
        },
    )
    bare_strip, safe_strip, verification = stripping.values()
    raw.close()

    with local_server(work / "server-data") as (url, key):
        http1 = http_run(
            "POST /api/v1/extract, concurrency 1", url, key, "/api/v1/extract", files, 1
        )
        http2 = http_run(
            "POST /api/v1/extract, concurrency 2", url, key, "/api/v1/extract", files, 2
        )
        remove1 = http_run(
            "POST /api/v1/remove, concurrency 1", url, key, "/api/v1/remove", files, 1
        )
        remove2 = http_run(
            "POST /api/v1/remove, concurrency 2", url, key, "/api/v1/remove", files, 2
        )

    show("extraction", [per_process, raw_extract, engine, http1, http2])
    show("stripping", [bare_strip, safe_strip, verification, remove1, remove2])
    print(
        "\ntargets (per-file ratios use the median file, which the shared machine's noise"
        " moves least)"
    )
    results = [
        verdict(
            "engine overhead per file (engine / raw stay_open, median ms)",
            engine.percentile(50) / raw_extract.percentile(50),
            TARGET_ENGINE_OVERHEAD,
            False,
        ),
        verdict(
            "HTTP extract c=2 files/s / raw stay_open files/s",
            http2.files_per_s / raw_extract.files_per_s,
            TARGET_HTTP_SHARE,
            True,
        ),
        verdict(
            "safe strip files/s / bare -all= files/s",
            safe_strip.files_per_s / bare_strip.files_per_s,
            TARGET_STRIP_SHARE,
            True,
        ),
        verdict(
            "verification / unverified safe strip (median ms per file)",
            verification.percentile(50)
            / max(safe_strip.percentile(50) - verification.percentile(50), 1e-9),
            TARGET_VERIFY_COST,
            False,
        ),
        verdict(
            "verification / POST /api/v1/remove c=1 (median ms per file)",
            verification.percentile(50) / max(remove1.percentile(50), 1e-9),
            TARGET_VERIFY_COST,
            False,
        ),
    ]
    print(
        f"  (means: engine {engine.ms_per_file / raw_extract.ms_per_file:.2f}x raw per file; "
        f"safe strip at median speed {bare_strip.percentile(50) / safe_strip.percentile(50):.2f}"
        f" of bare; a process per file is "
        f"{per_process.ms_per_file / raw_extract.ms_per_file:.0f}x slower than stay_open)"
    )
    return all(results)


if __name__ == "__main__":
    raise SystemExit(main())
