"""Smoke test a running exif-service: every surface's happy path, a large upload through S3,
the 413 path, and the scheduled jobs.

Run it right after `sam deploy` with a Pro key (the run counts 6 images of the day's quota):

    EXIF_SERVICE_API_KEY=exs_... .venv/bin/python infra/smoke.py --stack-name exif-prod

With `--stack-name` the API URL and the job functions come from the stack's outputs, and each
job is invoked once through the Lambda API (your AWS credentials need
cloudformation:DescribeStacks and lambda:InvokeFunction). Against a local server pass
`--api-url http://127.0.0.1:8000`; `--local-jobs` then runs the same jobs with `exif-service
jobs` against that server's data, otherwise they are skipped (the local server runs them on
its own schedule). The local server answers the 413 the way the deployed API does only with
`EXIF_SERVICE_MAX_REQUEST_BYTES=4194304`, the value template.yaml sets.

Every file the service sends back is opened and checked: the planted tags are gone and the
picture still decodes. Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

ARTIST = 0x013B  # EXIF IFD0 Artist
GPS_IFD = 0x8825
# Above the deployed API's request cap (4 MiB, EXIF_SERVICE_MAX_REQUEST_BYTES in template.yaml)
# and small enough that, base64-encoded, the request still reaches Lambda (6 MB payload): the
# answer is then the service's own 413, not the gateway's.
LARGE_BYTES = (4_250_000, 4_450_000)
JOB_TIMEOUT_S = 900
PROCESSING_DEADLINE_S = 180.0


class SmokeFailure(Exception):
    """A check saw something other than what a working deployment answers."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


@dataclass
class Target:
    api_url: str
    api_key: str
    region: str | None = None
    job_functions: dict[str, str] = field(default_factory=dict)  # job name -> Lambda name
    local_jobs: bool = False


def target_from_args(args: argparse.Namespace) -> Target:
    """The API URL and job functions, from the stack's outputs or the command line."""
    key = args.api_key or os.environ.get("EXIF_SERVICE_API_KEY", "")
    if not key:
        raise SystemExit("give the API key with --api-key or EXIF_SERVICE_API_KEY")
    if args.stack_name:
        import boto3

        cfn = boto3.client("cloudformation", region_name=args.region)
        [stack] = cfn.describe_stacks(StackName=args.stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return Target(
            api_url=(args.api_url or outputs["ApiUrl"]).rstrip("/"),
            api_key=key,
            region=args.region,
            job_functions={
                "usage-reset": outputs["UsageJobFunctionName"],
                "purge": outputs["PurgeJobFunctionName"],
            },
        )
    if not args.api_url:
        raise SystemExit("give --stack-name or --api-url")
    return Target(api_url=args.api_url.rstrip("/"), api_key=key, local_jobs=args.local_jobs)


# ---------------------------------------------------------------- test files
def tagged_jpeg(marker: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG with an Artist and a GPS position: what a strip must remove."""
    exif = Image.Exif()
    exif[ARTIST] = marker
    gps = exif.get_ifd(GPS_IFD)
    gps.update(
        {
            1: "N",
            2: (IFDRational(48), IFDRational(51), IFDRational(2376, 100)),
            3: "E",
            4: (IFDRational(2), IFDRational(17), IFDRational(40)),
        }
    )
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def large_tagged_jpeg(marker: str) -> bytes:
    """A JPEG of LARGE_BYTES: random pixels at full quality, so the size is predictable."""
    side = 1020
    for _ in range(5):
        pixels = random.Random(side).randbytes(side * side * 3)
        image = Image.frombytes("RGB", (side, side), pixels)
        exif = Image.open(io.BytesIO(tagged_jpeg(marker))).getexif()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=100, subsampling=0, exif=exif)
        if LARGE_BYTES[0] <= out.tell() <= LARGE_BYTES[1]:
            return out.getvalue()
        side = int(side * (sum(LARGE_BYTES) / 2 / out.tell()) ** 0.5)
    raise SmokeFailure("could not make a test file of the wanted size")


def expect_clean_jpeg(data: bytes, size: tuple[int, int]) -> None:
    """The file decodes as the same picture and no longer carries the Artist or GPS."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except OSError as exc:
        raise SmokeFailure(f"the returned file does not decode: {exc}") from exc
    expect(image.format == "JPEG", f"returned a {image.format}, not a JPEG")
    expect(image.size == size, f"returned a {image.size} picture, sent {size}")
    exif = image.getexif()
    expect(ARTIST not in exif, "the Artist tag is still in the returned file")
    expect(not exif.get_ifd(GPS_IFD), "the GPS position is still in the returned file")


# ---------------------------------------------------------------- the checks
class Smoke:
    def __init__(self, target: Target, client: httpx.Client, out: Callable[[str], None]) -> None:
        self.target = target
        self.http = client
        self.out = out
        self.failures = 0
        self.marker = f"exif-service smoke {uuid.uuid4().hex[:8]}"
        self.photo = tagged_jpeg(self.marker)

    # one line per check, and the run goes on after a failure
    def check(self, name: str, step: Callable[[], str]) -> None:
        try:
            detail = step()
        except (SmokeFailure, httpx.HTTPError, KeyError, ValueError) as exc:
            self.failures += 1
            self.out(f"FAIL  {name}: {type(exc).__name__}: {exc}")
        else:
            self.out(f"ok    {name}: {detail}")

    def skip(self, name: str, why: str) -> None:
        self.out(f"skip  {name}: {why}")

    @property
    def v1_auth(self) -> dict[str, str]:
        return {"X-API-Key": self.target.api_key}

    def _json(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        expect(
            response.status_code == status,
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}",
        )
        body: dict[str, Any] = response.json()
        return body

    def _file(self, response: httpx.Response) -> bytes:
        expect(
            response.status_code == 200,
            f"{response.request.url.path} answered {response.status_code}: {response.text[:300]}",
        )
        return response.content

    def v1_extract_and_lookup(self) -> str:
        files = {"file": ("smoke.jpg", self.photo, "image/jpeg")}
        r = self.http.post("/api/v1/extract", headers=self.v1_auth, files=files)
        body = self._json(r)
        expect(body["success"] is True, f"extract: {body}")
        expect(self.marker in json.dumps(body["metadata"]), "extract did not read the Artist")
        looked_up = self._json(
            self.http.get(f"/api/v1/extract/{body['uuid']}", headers=self.v1_auth)
        )
        expect(looked_up["status"] == "completed", f"lookup: {looked_up}")
        expect(self.marker in json.dumps(looked_up["metadata"]), "lookup lost the Artist")
        return f"uuid {body['uuid']} read and looked up"

    def v1_remove_and_download(self) -> str:
        files = {"file": ("smoke.jpg", self.photo, "image/jpeg")}
        body = self._json(self.http.post("/api/v1/remove", headers=self.v1_auth, files=files))
        expect(body["success"] is True and body.get("downloadUrl"), f"remove: {body}")
        # on AWS the download is a redirect to a short-lived S3 URL
        cleaned = self._file(self.http.get(body["downloadUrl"], follow_redirects=True))
        expect_clean_jpeg(cleaned, (64, 48))
        return f"downloaded {len(cleaned)} bytes, Artist and GPS gone"

    def images_view_exif(self) -> str:
        files = {"file": ("smoke.jpg", self.photo, "image/jpeg")}
        body = self._json(self.http.post("/api/images/view-exif", files=files))
        expect(body["ok"] is True, f"view-exif: {body}")
        expect(body["metadata"].get("Artist") == self.marker, "view-exif did not read the Artist")
        expect(body.get("gps"), "view-exif found no GPS position")
        return "Artist and GPS read"

    def images_strip_exif(self) -> str:
        headers = {"Authorization": f"Bearer {self.target.api_key}"}
        files = {"file": ("smoke.jpg", self.photo, "image/jpeg")}
        r = self.http.post("/api/images/strip-exif", headers=headers, files=files)
        cleaned = self._file(r)
        expect_clean_jpeg(cleaned, (64, 48))
        return f"{len(cleaned)} bytes back, Artist and GPS gone"

    def imagekit_upload_and_metadata(self) -> str:
        auth = (self.target.api_key, "")
        r = self.http.post(
            "/api/v1/files/upload",
            auth=auth,
            files={"file": ("smoke.jpg", self.photo, "image/jpeg")},
            data={"fileName": "smoke.jpg", "folder": "/exif-service-smoke"},
        )
        file_id = self._json(r)["fileId"]
        try:
            meta = self._json(self.http.get(f"/v1/files/{file_id}/metadata", auth=auth))
            expect((meta["width"], meta["height"]) == (64, 48), f"metadata: {meta}")
            expect(meta["exif"]["image"].get("Artist") == self.marker, "no Artist in exif.image")
            expect(meta["exif"]["gps"].get("GPSLatitudeRef") == "N", "no GPS in exif.gps")
        finally:
            self.http.delete(f"/v1/files/{file_id}", auth=auth)
        return f"fileId {file_id} uploaded, metadata read, deleted"

    def presigned_large_upload(self, large: bytes) -> str:
        grant = self._json(
            self.http.post(
                "/api/v1/uploads",
                headers=self.v1_auth,
                json={"operation": "remove", "fileName": "smoke-large.jpg"},
            )
        )
        upload = grant["upload"]
        # straight to S3: every field of the grant, then the file
        r = httpx.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("smoke-large.jpg", large, "image/jpeg")},
            timeout=300,
        )
        expect(r.is_success, f"the S3 upload answered {r.status_code}: {r.text[:300]}")
        deadline = time.monotonic() + PROCESSING_DEADLINE_S
        job = grant
        while job["status"] == "processing":
            expect(time.monotonic() < deadline, f"still processing after {PROCESSING_DEADLINE_S} s")
            time.sleep(2)
            job = self._json(self.http.get(grant["statusUrl"], headers=self.v1_auth))
        expect(job["status"] == "completed", f"the upload job ended {job}")
        cleaned = self._file(self.http.get(job["downloadUrl"], follow_redirects=True))
        expect_clean_jpeg(cleaned, Image.open(io.BytesIO(large)).size)
        return f"{len(large)} bytes through S3, processed, cleaned file downloaded"

    def too_large_is_413(self, large: bytes) -> str:
        files = {"file": ("smoke-large.jpg", large, "image/jpeg")}
        body = self._json(self.http.post("/api/v1/extract", headers=self.v1_auth, files=files), 413)
        expect(body["success"] is False, f"413 body: {body}")
        expect("/api/v1/uploads" in body["error"], f"the 413 does not name the way out: {body}")
        return f"{len(large)} bytes refused, pointing at POST /api/v1/uploads"

    def job(self, name: str) -> str:
        if self.target.job_functions:
            return self._invoke_job(self.target.job_functions[name])
        return self._run_local_job(name)

    def _invoke_job(self, function: str) -> str:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "lambda",
            region_name=self.target.region,
            config=Config(read_timeout=JOB_TIMEOUT_S, retries={"max_attempts": 0}),
        )
        r = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=b"{}")
        payload = r["Payload"].read().decode()
        expect("FunctionError" not in r, f"{function} failed: {payload[:500]}")
        return f"{function} answered {payload[:200]}"

    def _run_local_job(self, name: str) -> str:
        cli = Path(sys.executable).with_name("exif-service")
        command = str(cli) if cli.exists() else shutil.which("exif-service")
        expect(command, "exif-service is not installed next to this Python")
        done = subprocess.run(
            [str(command), "jobs", name], capture_output=True, text=True, timeout=JOB_TIMEOUT_S
        )
        expect(done.returncode == 0, f"exif-service jobs {name}: {done.stderr[-500:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        expect(result["job"] == name, f"ran {result}")
        return f"local job answered {json.dumps(result['result'])[:200]}"

    def run(self) -> int:
        self.out(f"smoke test of {self.target.api_url}")
        self.check("v1 extract + lookup", self.v1_extract_and_lookup)
        self.check("v1 remove + download", self.v1_remove_and_download)
        self.check("images view-exif", self.images_view_exif)
        self.check("images strip-exif", self.images_strip_exif)
        self.check("ImageKit upload + metadata", self.imagekit_upload_and_metadata)
        large = large_tagged_jpeg(self.marker)
        self.check("presigned large upload", lambda: self.presigned_large_upload(large))
        self.check("413 above the request cap", lambda: self.too_large_is_413(large))
        for job in ("usage-reset", "purge"):
            if self.target.job_functions or self.target.local_jobs:
                self.check(f"schedule {job}", functools.partial(self.job, job))
            else:
                self.skip(f"schedule {job}", "no stack (use --stack-name, or --local-jobs)")
        self.out("all checks passed" if not self.failures else f"{self.failures} check(s) failed")
        return 1 if self.failures else 0


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", help="read ApiUrl and the job functions from this stack")
    parser.add_argument("--api-url", help="base URL (overrides the stack's ApiUrl)")
    parser.add_argument("--api-key", help="a Pro key (default: $EXIF_SERVICE_API_KEY)")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS config)")
    parser.add_argument(
        "--local-jobs",
        action="store_true",
        help="without a stack: run the jobs with `exif-service jobs` against the local server",
    )
    args = parser.parse_args(argv)
    target = target_from_args(args)
    with httpx.Client(base_url=target.api_url, timeout=60.0) as client:
        return Smoke(target, client, _say).run()


if __name__ == "__main__":
    sys.exit(main())
