"""The Lambda code package as `make build` trims it: botocore keeps the models of the AWS services
the functions call (LAMBDA_AWS_SERVICES in the Makefile) and nothing else, so every service the
code makes a client for must be on that list, and the trimmed data must be enough to make them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import botocore
import botocore.loaders
import botocore.session
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "exif_service"
# local/ runs the emulator on a laptop and never ships to a function's requests
LOCAL_ONLY = PACKAGE / "local"


def _kept() -> set[str]:
    found = re.search(r"^LAMBDA_AWS_SERVICES\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile names the services whose botocore models stay in the package"
    return set(found.group(1).split())


def _called() -> set[str]:
    """Services the function code makes clients for: boto3.client("x") / client("x"), and
    DynamoDB for the pynamodb models."""
    services: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if LOCAL_ONLY in path.parents:
            continue
        source = path.read_text()
        services.update(re.findall(r"\bclient\(\s*[\"']([a-z0-9-]+)[\"']", source))
        if re.search(r"^\s*(from|import) pynamodb", source, re.M):
            services.add("dynamodb")
    return services


def test_every_service_the_functions_call_keeps_its_model_in_the_package() -> None:
    called = _called()
    assert {"dynamodb", "s3", "ssm"} <= called  # the scan finds what the code is known to use
    assert called <= _kept()


@pytest.fixture
def trimmed_data(tmp_path: Path) -> Path:
    """botocore's data directory as `make build` leaves it."""
    source = Path(botocore.__file__).parent / "data"
    data = tmp_path / "data"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns(*_dropped(source)))
    return data


def _dropped(source: Path) -> list[str]:
    kept = _kept()
    return [p.name for p in source.iterdir() if p.is_dir() and p.name not in kept]


@pytest.mark.parametrize("service", sorted(_kept()))
def test_a_client_is_made_from_the_trimmed_models(trimmed_data: Path, service: str) -> None:
    session = botocore.session.Session()
    loader = botocore.loaders.Loader(
        extra_search_paths=[str(trimmed_data)], include_default_search_paths=False
    )
    session.register_component("data_loader", loader)
    assert service in loader.list_available_services("service-2")
    made = session.create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert made.meta.service_model.service_name == service
    assert len(loader.list_available_services("service-2")) == len(_kept())
