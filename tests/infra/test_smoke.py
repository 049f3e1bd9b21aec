"""infra/smoke.py, the post-deploy smoke test, run against a real local server so it cannot rot:
passing on a working service, failing on a broken one, and reading a stack's outputs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws
from tests.e2e.conftest import Server, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "infra" / "smoke.py"
SURFACE_CHECKS = [
    "v1 extract + lookup",
    "v1 remove + download",
    "images view-exif",
    "images strip-exif",
    "ImageKit upload + metadata",
    "presigned large upload",
    "413 above the request cap",
]
KEYED_CHECKS = [
    c for c in SURFACE_CHECKS if c not in ("images view-exif", "413 above the request cap")
]


@pytest.fixture(scope="module")
def deployed_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A local server with the deployed stack's request cap and download redirects."""
    with start_server(
        tmp_path_factory.mktemp("smoke-server"),
        MAX_REQUEST_BYTES="4194304",  # template.yaml's EXIF_SERVICE_MAX_REQUEST_BYTES
        DOWNLOAD_REDIRECTS="true",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def pro_key(deployed_like: Server) -> str:
    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    output = deployed_like.admin("create-user", "--email", email, "--plan", "pro")
    return output.strip().splitlines()[-1]


def _run_smoke(server: Server, key: str, *args: str) -> tuple[int, dict[str, str]]:
    """Run the script as a person would; (exit code, check name -> "ok"/"FAIL"/"skip")."""
    done = subprocess.run(
        [sys.executable, str(SMOKE), "--api-url", server.url, *args],
        env={**server.env, "EXIF_SERVICE_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=600,
    )
    verdicts = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAIL", "skip"):
            verdicts[rest.strip().split(":")[0]] = status
    return done.returncode, verdicts


def test_smoke_passes_every_check_against_a_working_server_jobs_included(
    deployed_like: Server, pro_key: str
) -> None:
    code, verdicts = _run_smoke(deployed_like, pro_key, "--local-jobs")
    assert verdicts == {
        **dict.fromkeys(SURFACE_CHECKS, "ok"),
        "schedule usage-reset": "ok",
        "schedule purge": "ok",
    }
    assert code == 0


def test_smoke_fails_every_keyed_check_with_a_bad_key_and_skips_jobs_without_a_stack(
    deployed_like: Server,
) -> None:
    code, verdicts = _run_smoke(deployed_like, "exs_" + "x" * 40)
    assert code == 1
    assert {name for name, v in verdicts.items() if v == "FAIL"} == set(KEYED_CHECKS)
    assert verdicts["images view-exif"] == "ok"  # public, no key needed
    assert verdicts["schedule usage-reset"] == verdicts["schedule purge"] == "skip"


def _load_smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_smoke", SMOKE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _lambda_zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("job.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def test_smoke_reads_the_stack_outputs_and_invokes_each_job_function(
    deployed_like: Server,
    pro_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EXIF_SERVICE_API_KEY", pro_key)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam").create_role(
            RoleName="job", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        functions = {}
        for output in ("UsageJobFunctionName", "PurgeJobFunctionName"):
            name = f"exif-smoke-{output}"
            boto3.client("lambda").create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="job.handler",
                Code={"ZipFile": _lambda_zip()},
            )
            functions[output] = name
        outputs = {"ApiUrl": deployed_like.url + "/", **functions}
        stack_template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        boto3.client("cloudformation").create_stack(
            StackName="exif-smoke", TemplateBody=json.dumps(stack_template)
        )

        code = _load_smoke().main(["--stack-name", "exif-smoke", "--region", "us-east-1"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert lines[0] == f"smoke test of {deployed_like.url}"
    for name in functions.values():
        [line] = [x for x in lines if f"{name} answered" in x]
        assert line.startswith("ok    schedule "), line
